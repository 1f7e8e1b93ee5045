"""The change log's fields and values in words: labels for the recorded columns, labels for
the codes among their values, Japan time for times (app/services/admin_log.py stores the
columns as they are)."""

import json
import re

from flask_babel import lazy_gettext as _l

from app.domain.labels import CATEGORY_LABELS, ROLE_LABELS, SEVERITY_LABELS, prefecture_name
from app.domain.timeline import when
from app.web.admin.contracts import PLAN_LABELS

FIELD_LABELS = {
    "active": _l("Active"), "added_monitoring": _l("Added monitoring (class 2)"),
    "address": _l("Address"), "alert_incident_severities": _l("Alerts that open an incident"),
    "annual_aggregate": _l("Annual aggregate limit (yen)"), "code": _l("Code"),
    "company": _l("Company"), "created_at": _l("Created at"), "deductible": _l("Deductible (yen)"),
    "desk_hours": _l("Desk hours"), "devices": _l("Devices"),
    "email": _l("E-mail"), "employees": _l("Employees"), "ends_at": _l("Ends at"),
    "ends_on": _l("Ends on"), "escalation_policy": _l("Escalation policy"),
    "expires_at": _l("Expires at"), "hourly_rate": _l("Hourly rate (yen)"), "id": _l("ID"),
    "industry": _l("Industry"), "insurer_id": _l("Insurer (ID)"), "label": _l("Label"),
    "last_used_at": _l("Last used at"), "locale": _l("Language"),
    "monthly_fee": _l("Monthly fee (yen)"), "monthly_service": _l("Monthly service"),
    "name": _l("Name"), "name_en": _l("Name (English)"), "name_ja": _l("Name (Japanese)"),
    "note": _l("Note"), "notice_email": _l("Notice e-mail"), "number": _l("Number"),
    "onsite_support": _l("On-site support"), "organization_id": _l("Organization (ID)"),
    "per_incident_limit": _l("Per-incident limit (yen)"), "phone": _l("Phone"),
    "phones": _l("Phone numbers"), "plan": _l("Plan"), "policy_id": _l("Policy (ID)"),
    "prefecture": _l("Prefecture"), "prefectures": _l("Prefectures served"),
    "prefix": _l("Key prefix"), "revoked_at": _l("Revoked at"), "role": _l("Role"),
    "service_class": _l("Service class"), "session_epoch": _l("Sign-outs forced"),
    "skills": _l("Skills"), "sla_acknowledge_minutes": _l("SLA: acknowledgement (minutes)"),
    "sla_claim_business_days": _l("SLA: claim submission (business days)"),
    "sla_first_response_minutes": _l("SLA: first response (minutes)"),
    "sla_onsite_minutes": _l("SLA: on site (minutes)"), "starts_at": _l("Starts at"),
    "starts_on": _l("Starts on"), "technician_id": _l("Technician (ID)"),
    "terms": _l("Terms per coverage head (payout ratio in percent, sub-limit in yen)"),
    "user_id": _l("User (ID)"),
    "webhook_url": _l("Webhook URL"), "webhook_secret": _l("Webhook secret"),
    "password": _l("Password"),
}
VALUE_LABELS = {
    "role": ROLE_LABELS, "plan": PLAN_LABELS,
    "desk_hours": {"24h": _l("24 hours"), "business": _l("Business hours")},
    "locale": {"ja": _l("Japanese"), "en": _l("English")},
    "webhook_secret": {"rotated": _l("rotated")}, "password": {"changed": _l("changed")},
}
LIST_LABELS = {"skills": CATEGORY_LABELS, "alert_incident_severities": SEVERITY_LABELS}
ESCALATION_ACTIONS = {"sms": _l("SMS with accept link"), "voice": _l("Voice call"),
                      "next_candidate": _l("Offer to the next candidate"),
                      "page_dispatcher": _l("Page the dispatchers")}
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def field_label(name):
    """A recorded column's label; an unknown one (a new column) in plain words."""
    return str(FIELD_LABELS.get(name, name.replace("_", " ")))


def value_text(name, value):
    """A recorded value as people read it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    if name in VALUE_LABELS:
        return str(VALUE_LABELS[name].get(value, value))
    if name in LIST_LABELS:
        return "、".join(str(LIST_LABELS[name].get(v, v)) for v in value)
    if name == "prefecture":
        return prefecture_name(value)
    if name == "prefectures":
        return "、".join(prefecture_name(v) for v in value)
    if name == "escalation_policy":
        return "、".join(f"+{_l('%(m)s min', m=minutes)}: {ESCALATION_ACTIONS.get(action, action)}"
                        for minutes, action in value)
    if name == "phones":
        return "、".join(f"{p.get('number')} ({p.get('label')})" if p.get("label")
                        else str(p.get("number")) for p in value)
    if isinstance(value, str) and ISO_TIME.match(value):
        return when(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
