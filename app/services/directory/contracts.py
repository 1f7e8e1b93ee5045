"""Service contracts that meet the Otasuketai standard: plan, class, price caps, SLA targets.

Class 1 (1類) is bound by the standard's price caps, excluding tax: network monitoring at most
10,000 yen a month, endpoint monitoring at most 2,000 yen per device a month, combined at most
the sum. Class 2 (2類) relaxes the price requirement (IPA: 価格要件を緩和, no cap published) and
instead must add at least one of: >= 50 monitored endpoints on a network or combined plan,
added monitoring (e.g. CASB/SASE), or a service given at least monthly.

Every function checks its whole input before writing, then commits once: a refused input
changes nothing.
"""

from datetime import date

from sqlalchemy import select

from app import access
from app.domain.alerts.normalized import SEVERITIES
from app.domain.timeutil import to_jst
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import MAX_INTEGER, Contract, InsurancePolicy, Organization
from app.models.organization import PLANS
from app.services import admin_log

NETWORK_CAP = 10_000  # yen a month, excluding tax
ENDPOINT_CAP_PER_DEVICE = 2_000  # yen per device a month, excluding tax
CLASS_2_MIN_ENDPOINTS = 50
CLASS_2_ENDPOINT_PLANS = ("network", "combined")  # IPA 2類 ①: network, or network + endpoint
MAX_DEVICES = 1_000_000
MAX_MINUTES = 366 * 24 * 60
MAX_ACKNOWLEDGE_MINUTES = 24 * 60  # a technician who takes a day has not acknowledged
MAX_CLAIM_BUSINESS_DAYS = 90
DESK_HOURS = ("24h", "business")
FIELDS = ("plan", "service_class", "devices", "monthly_fee", "onsite_support", "starts_on",
          "ends_on", "desk_hours", "sla_first_response_minutes", "sla_onsite_minutes",
          "sla_acknowledge_minutes", "sla_claim_business_days", "alert_incident_severities",
          "policy_id", "added_monitoring", "monthly_service")
# alert_incident_severities None: the configured default (ALERT_INCIDENT_SEVERITIES).
DEFAULTS = {"service_class": 1, "devices": 1, "onsite_support": True, "ends_on": None,
            "desk_hours": "24h", "sla_first_response_minutes": 30,
            "sla_onsite_minutes": 24 * 60, "sla_acknowledge_minutes": 30,
            "sla_claim_business_days": 10, "alert_incident_severities": None,
            "policy_id": None, "added_monitoring": "", "monthly_service": ""}


def _refuse(field, message, **details):
    return InvalidInput(message, {"field": field, **details})


# ---------------------------------------------------------------- the standard


def price_cap(plan, devices):
    """The class-1 monthly price cap in yen (excluding tax) for a plan and device count."""
    endpoint = ENDPOINT_CAP_PER_DEVICE * devices
    return {"network": NETWORK_CAP, "endpoint": endpoint,
            "combined": NETWORK_CAP + endpoint}[plan]


def class_2_additions(values):
    """The class-2 requirements a contract adds (empty when it adds none)."""
    added = []
    if (values["plan"] in CLASS_2_ENDPOINT_PLANS
            and values["devices"] >= CLASS_2_MIN_ENDPOINTS):
        added.append("endpoints")
    if values["added_monitoring"]:
        added.append("added_monitoring")
    if values["monthly_service"]:
        added.append("monthly_service")
    return added


def check_standard(values):
    """Refuse a contract the standard does not allow, with the reason."""
    if values["ends_on"] is not None and values["ends_on"] <= values["starts_on"]:
        raise _refuse("ends_on", "The end date must be after the start date.",
                      reason="ends_before_start")
    if values["service_class"] == 1:
        cap = price_cap(values["plan"], values["devices"])
        if values["monthly_fee"] > cap:
            raise _refuse("monthly_fee", f"A class-1 {values['plan']} contract for "
                          f"{values['devices']} device(s) costs at most {cap} yen a month "
                          "excluding tax.", reason="over_price_cap", cap=cap)
    elif not class_2_additions(values):
        raise _refuse("service_class", "A class-2 contract must add at least one of: "
                      f"{CLASS_2_MIN_ENDPOINTS} or more monitored endpoints (network or "
                      "combined plan), added monitoring such as CASB/SASE, or a service given "
                      "at least monthly.", reason="class_2_requirement_missing")


# ---------------------------------------------------------------- field rules


def _int(field, value, low, high, what):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(field, f"{field} is {what} from {low} to {high}.", reason="invalid")
    return value


def _text(field, value, max_length):
    text = value.strip() if isinstance(value, str) else None
    if text is None or len(text) > max_length:
        raise _refuse(field, f"{field} is text of at most {max_length} characters.",
                      reason="invalid")
    return text


def _choice(field, value, choices):
    if value not in choices:
        raise _refuse(field, f"{field} is one of {', '.join(map(str, choices))}.",
                      reason="invalid")
    return value


def _date(field, value, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, date):
        raise _refuse(field, f"{field} is a date.", reason="invalid")
    return value


def _bool(field, value):
    if not isinstance(value, bool):
        raise _refuse(field, f"{field} is true or false.", reason="invalid")
    return value


def _severities(field, value):
    """None (the configured default) or a subset of SEVERITIES, stored in their order.

    An empty list is allowed: every alert is kept for the reports, none opens an incident.
    """
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(v in SEVERITIES for v in value):
        raise _refuse(field, f"{field} is null or a list of: {', '.join(SEVERITIES)}.",
                      reason="invalid")
    return [severity for severity in SEVERITIES if severity in value]


RULES = {
    "plan": lambda v: _choice("plan", v, PLANS),
    "service_class": lambda v: _choice("service_class", v, (1, 2)),
    "devices": lambda v: _int("devices", v, 1, MAX_DEVICES, "a whole number"),
    "monthly_fee": lambda v: _int("monthly_fee", v, 0, MAX_INTEGER, "whole yen"),
    "onsite_support": lambda v: _bool("onsite_support", v),
    "starts_on": lambda v: _date("starts_on", v),
    "ends_on": lambda v: _date("ends_on", v, optional=True),
    "desk_hours": lambda v: _choice("desk_hours", v, DESK_HOURS),
    "sla_first_response_minutes": lambda v: _int("sla_first_response_minutes", v, 1,
                                                 MAX_MINUTES, "minutes"),
    "sla_onsite_minutes": lambda v: _int("sla_onsite_minutes", v, 1, MAX_MINUTES, "minutes"),
    "sla_acknowledge_minutes": lambda v: _int("sla_acknowledge_minutes", v, 1,
                                              MAX_ACKNOWLEDGE_MINUTES, "minutes"),
    "sla_claim_business_days": lambda v: _int("sla_claim_business_days", v, 1,
                                              MAX_CLAIM_BUSINESS_DAYS, "business days"),
    "alert_incident_severities": lambda v: _severities("alert_incident_severities", v),
    "policy_id": lambda v: None if v is None else _int("policy_id", v, 1, 2**31 - 1, "an id"),
    "added_monitoring": lambda v: _text("added_monitoring", v, 100),
    "monthly_service": lambda v: _text("monthly_service", v, 200),
}


def _clean(fields):
    """The fields checked one by one; unknown fields are refused."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise _refuse(sorted(unknown)[0], "Unknown field.", reason="unknown_field")
    return {name: RULES[name](value) for name, value in fields.items()}


def _check_policy(values, organization_id):
    """The linked policy must insure the contract's organization."""
    if values["policy_id"] is None:
        return
    policy = db.session.get(InsurancePolicy, values["policy_id"])
    if policy is None or policy.organization_id != organization_id:
        raise _refuse("policy_id", "The policy does not insure this organization.",
                      reason="policy_not_of_organization")


# ---------------------------------------------------------------- facts


def onsite_contract_active(incident, params, now):
    """The fact `onsite_contract_active` of request_dispatch's guard: a contract active on
    now's Japan date includes on-site support."""
    today = to_jst(now).date()
    contracts = db.session.scalars(
        select(Contract).where(Contract.organization_id == incident.organization_id)).all()
    return any(c.active_on(today) and c.onsite_support for c in contracts)


# ---------------------------------------------------------------- use cases


def get_organization(actor, organization_id):
    """An organization whose contracts the actor may see."""
    access.require(actor, "contracts.read")
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("Organization not found.")
    return organization


def list_contracts(actor, organization_id):
    """An organization's contracts by start date."""
    get_organization(actor, organization_id)
    return db.session.scalars(select(Contract).where(Contract.organization_id == organization_id)
                              .order_by(Contract.starts_on, Contract.id)).all()


def get_contract(actor, contract_id):
    """One contract."""
    access.require(actor, "contracts.read")
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound("Contract not found.")
    return contract


def create_contract(actor, organization_id, fields):
    """Add a contract after checking it against the standard."""
    access.require(actor, "contracts.manage")
    get_organization(actor, organization_id)
    missing = [f for f in ("plan", "monthly_fee", "starts_on") if f not in fields]
    if missing:
        raise _refuse(missing[0], f"{missing[0]} is needed.", reason="missing")
    values = {**DEFAULTS, **_clean(fields)}
    check_standard(values)
    _check_policy(values, organization_id)
    contract = Contract(organization_id=organization_id, **values)
    db.session.add(contract)
    admin_log.record(actor, "contract", "created", contract)
    db.session.commit()
    return contract


def update_contract(actor, contract_id, fields):
    """Change the fields given; the whole contract must still meet the standard."""
    access.require(actor, "contracts.manage")
    contract = get_contract(actor, contract_id)
    values = _clean(fields)
    merged = {f: values.get(f, getattr(contract, f)) for f in FIELDS}
    check_standard(merged)
    _check_policy(merged, contract.organization_id)
    before = admin_log.snapshot(contract)
    for name, value in values.items():
        setattr(contract, name, value)
    admin_log.record(actor, "contract", "updated", contract, before)
    db.session.commit()
    return contract
