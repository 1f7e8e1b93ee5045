"""Correcting an incident's facts after intake (a call filed as その他, a wrong category on
/report): one `corrected` timeline event per correction, holding every field's before and
after and the reason.

Decisions, each a clear refusal that changes nothing when broken:
- staff (desk, dispatcher, admin) correct category, severity, summary, description, the
  reporter's name, phone and e-mail, occurred_at, discovered_at and discovery_source, in
  any state; the organization only while the incident is `received` or `triaging` (before
  anyone is sent or anything is claimed) and only with a reason;
- a customer corrects only its own incidents' description and the reporter's contact
  details (another field is a 403 naming it); technicians and insurers correct nothing;
  an incident the actor cannot see is a 404, as everywhere;
- the caller sends the version it last saw: any other version is a 409 before anything is
  attempted (and a concurrent writer a 409 at commit), so nobody overwrites a change they
  have not seen;
- fields sent with their current value are not changes; a correction that changes
  nothing (and completes nothing) is a 422 `nothing_changed`, never a silent 200;
- a staff correction completes a call the phone line opened (`needs_completion` cleared);
  `completed=True` does so without changing a field;
- the triage checklist is read from the current category (app/domain/triage.py): ticks
  of items that leave it stay on the timeline; a severity or organization change re-times
  the running SLA clocks (sla.retime_running), a discovery time the running leak clocks
  (docs/architecture.md "SLA clocks").
Messages and documents read the incident when they are made, so they say the new values
from now on; messages already in the outbox keep the text they were queued with.
"""

from datetime import datetime

from app import access
from app.access import get_incident_for
from app.domain.phones import clean_phone
from app.domain.timeutil import isoformat_utc, to_utc_naive, utcnow
from app.errors import ConcurrentUpdate, Conflict, Forbidden, InvalidInput
from app.extensions import db
from app.models import Organization
from app.models.incident import CATEGORIES, DISCOVERY_SOURCES, SEVERITIES
from app.services.actors import label_for
from app.services.directory.organizations import known_organization
from app.services.incidents import sla
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict, conflict_as_409

CONTACT_FIELDS = ("description", "reporter_name", "reporter_phone", "reporter_email")
STAFF_FIELDS = ("category", "severity", "summary", *CONTACT_FIELDS, "occurred_at",
                "discovered_at", "discovery_source", "organization_id")
ORGANIZATION_STATES = ("received", "triaging")  # nobody sent, nothing claimed yet
RETIMING_FIELDS = ("severity", "organization_id")  # what the SLA targets may depend on
REASON_MAX = 1000
LIMITS = {"summary": 200, "description": 10000, "reporter_name": 100, "reporter_email": 254}


def _invalid(field, reason, message):
    return InvalidInput(message, {"field": field, "reason": reason})


def _choice(field, allowed):
    def clean(value):
        if value not in allowed:
            raise _invalid(field, "invalid_choice",
                           f"{field} is one of: {', '.join(allowed)}.")
        return value
    return clean


def _text(field, required=False):
    def clean(value):
        if not isinstance(value, str):
            raise _invalid(field, "invalid", f"{field} is text.")
        value = value.strip()
        if required and not value:
            raise _invalid(field, "required", f"{field} cannot be empty.")
        if len(value) > LIMITS[field]:
            raise _invalid(field, "too_long", f"{field} has at most {LIMITS[field]} characters.")
        return value
    return clean


def _phone(value):
    if value in (None, ""):
        return ""
    try:
        return clean_phone(value)
    except InvalidInput as exc:
        raise _invalid("reporter_phone", "invalid_phone", exc.message) from exc


def _email(value):
    value = _text("reporter_email")(value)
    if value and (value.count("@") != 1 or value.startswith("@") or value.endswith("@")
                  or any(c.isspace() for c in value)):
        raise _invalid("reporter_email", "invalid_email", "reporter_email is an e-mail address.")
    return value


def _instant(field, optional=False):
    def clean(value):
        if value is None and optional:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise _invalid(field, "invalid", f"{field} is a date and time with its zone.")
        return to_utc_naive(value)
    return clean


def _organization_id(value):
    return known_organization(value).id


RULES = {
    "category": _choice("category", CATEGORIES),
    "severity": _choice("severity", SEVERITIES),
    "summary": _text("summary", required=True),
    "description": _text("description"),
    "reporter_name": _text("reporter_name"),
    "reporter_phone": _phone,
    "reporter_email": _email,
    "occurred_at": _instant("occurred_at", optional=True),
    "discovered_at": _instant("discovered_at"),
    "discovery_source": _choice("discovery_source", DISCOVERY_SOURCES),
    "organization_id": _organization_id,
}


def _require_fields(actor, fields):
    """403 unless the actor's role may correct every field sent."""
    if access.can(actor, "incidents.correct"):
        return
    access.require(actor, "incidents.correct_contact")
    others = sorted(set(fields) - set(CONTACT_FIELDS))
    if others:
        raise Forbidden("Your role may correct only the description and the reporter's "
                        "contact details.", {"fields": others})


def _clean(changes):
    unknown = sorted(set(changes) - set(STAFF_FIELDS))
    if unknown:
        raise _invalid(unknown[0], "unknown_field", f"{unknown[0]} cannot be corrected.")
    return {name: RULES[name](value) for name, value in changes.items()}


def _check_times(incident, values, now):
    discovered = values.get("discovered_at", incident.discovered_at)
    occurred = values.get("occurred_at", incident.occurred_at)
    if "discovered_at" in values and discovered > now:
        raise _invalid("discovered_at", "in_future", "The discovery time is in the future.")
    if "occurred_at" in values and occurred is not None and occurred > discovered:
        raise _invalid("occurred_at", "after_discovery",
                       "The incident cannot have occurred after it was discovered.")


def _check_organization(incident, values, reason):
    if "organization_id" not in values:
        return
    if incident.state not in ORGANIZATION_STATES:
        raise Conflict("The organization can be corrected only while the incident is "
                       "received or in triage.",
                       {"field": "organization_id", "reason": "organization_locked",
                        "state": incident.state})
    if not reason:
        raise _invalid("reason", "required", "Say why the organization is corrected.")


def _shown(name, value):
    """A value as the event keeps it: instants in ISO UTC, an organization with its name."""
    if isinstance(value, datetime):
        return isoformat_utc(value)
    if name == "organization_id" and value is not None:
        return {"id": value, "name": db.session.get(Organization, value).name}
    return value


def _differences(incident, values):
    """{field: {before, after}} of the values that differ from the incident's."""
    return {name: {"before": _shown(name, getattr(incident, name)),
                   "after": _shown(name, value)}
            for name, value in values.items() if getattr(incident, name) != value}


def correct_incident(incident_id, changes, *, version, reason="", actor, now=None,
                     completed=False):
    """Apply a correction of `changes` ({field: new value}) seen at `version`; the incident."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise _invalid("reason", "too_long", f"The reason has at most {REASON_MAX} characters.")
    incident = get_incident_for(actor, incident_id)
    _require_fields(actor, changes)
    staff = access.can(actor, "incidents.correct")
    if completed and not staff:
        raise Forbidden("Your role may not complete a call.", {"fields": ["completed"]})
    if version != incident.version:
        raise ConcurrentUpdate(incident.reference)
    values = _clean(changes)
    _check_times(incident, values, now)
    diff = _differences(incident, values)
    _check_organization(incident, {k: values[k] for k in diff}, reason)
    completes = staff and incident.needs_completion and (bool(diff) or completed)
    if not diff and not completes:
        raise InvalidInput("Nothing to change: every value sent is the incident's already.",
                           {"reason": "nothing_changed"})
    with conflict_as_409(incident):
        _apply(incident, diff, values, completes, reason, actor, now)
        commit_or_conflict(incident)
    return incident


def _apply(incident, diff, values, completes, reason, actor, now):
    """Set the new values, re-time the clocks they move, and record the one event."""
    for name in diff:
        setattr(incident, name, values[name])
    if completes:
        incident.needs_completion = False
    if any(name in diff for name in RETIMING_FIELDS):
        sla.retime_running(incident, now)
    if "discovered_at" in diff:
        sla.retime_leak_running(incident)
    data = {"changes": diff, "reason": reason}
    if completes:
        data["completed"] = True
    append_event(incident, kind="corrected", actor=actor, actor_label=label_for(actor, ""),
                 now=now, note=reason, data=data)
