"""Calls ringing at the desk number, for the desk's screen pop.

The incoming-call webhook records a call (Twilio's CallSid, the caller, the organization
that registered the number, the incident the phone line opened); the call's status
callback ends it. While a call is open every desk page shows the caller: the organization,
its contract and its open incidents, or "unknown number" (app/web/desk/live.py).
"""

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.domain.timeutil import to_jst, utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.models import Incident, PhoneCall
from app.models.calls import CALL_END_STATES
from app.services.directory.organizations import organization_by_phone
from app.services.incidents.sla import contract_active_at
from workflows.incident import FINAL_STATES

# Twilio's CallStatus values of a call still going on; the others end it.
CALL_LIVE_STATES = ("queued", "initiated", "ringing", "in-progress")
# A call whose end Twilio never reported (a lost callback) stops showing after this.
LIVE_FOR = timedelta(minutes=15)
OPEN_INCIDENTS_SHOWN = 5


def call_started(call_sid, caller, incident=None, now=None):
    """Record a call ringing at the desk; commit. The same CallSid again changes nothing."""
    if not call_sid:
        return None
    existing = _by_sid(call_sid)
    if existing is not None:
        return existing
    organization = incident.organization if incident is not None else (
        organization_by_phone(caller) if caller else None)
    call = PhoneCall(call_sid=call_sid[:64], from_number=caller or "",
                     organization_id=organization.id if organization else None,
                     incident_id=incident.id if incident is not None else None,
                     status="ringing", started_at=now or utcnow())
    db.session.add(call)
    try:
        db.session.commit()
    except IntegrityError:  # the same call posted twice at once: the first one stands
        db.session.rollback()
        return _by_sid(call_sid)
    return call


def call_status(call_sid, status, now=None):
    """A call's status callback: a final status ends the call (once); commit.

    An unknown status is refused and changes nothing; a CallSid never recorded is None.
    """
    status = (status or "").strip().lower()
    if status not in CALL_END_STATES + CALL_LIVE_STATES:
        raise InvalidInput("CallStatus must be one of Twilio's call statuses.",
                           {"field": "CallStatus", "value": status[:32]})
    call = _by_sid(call_sid) if call_sid else None
    if call is None or call.ended_at is not None:
        return call
    call.status = status if status in CALL_END_STATES else "in-progress"
    if status in CALL_END_STATES:
        call.ended_at = now or utcnow()
    db.session.commit()
    return call


def _by_sid(call_sid):
    return db.session.scalars(select(PhoneCall).where(PhoneCall.call_sid == call_sid)).first()


@dataclass(frozen=True)
class LiveCall:
    """What the screen pop shows of one call (plain values, ready for JSON)."""

    call_sid: str
    caller: str
    started_at: str  # Japan time, HH:MM:SS
    status: str
    organization: dict | None = None  # id, name, code
    contract: dict | None = None  # plan, service_class, onsite_support, desk_hours, ends_on
    incidents: list = field(default_factory=list)  # id, reference, state, summary


def live_calls(now=None):
    """Calls to the desk that have not ended (started within LIVE_FOR), oldest first.

    One query for the calls; per call with a known organization, one for its contract and
    one for its open incidents (there is rarely more than one call at a time).
    """
    now = now or utcnow()
    calls = db.session.scalars(
        select(PhoneCall).where(PhoneCall.ended_at.is_(None),
                                PhoneCall.started_at >= now - LIVE_FOR)
        .order_by(PhoneCall.started_at, PhoneCall.id)).all()
    return [_live(call, now) for call in calls]


def _live(call, now):
    base = {"call_sid": call.call_sid, "caller": call.from_number,
            "started_at": to_jst(call.started_at).strftime("%H:%M:%S"), "status": call.status}
    organization = call.organization
    if organization is None:
        return LiveCall(**base)
    return LiveCall(**base, organization={"id": organization.id, "name": organization.name,
                                          "code": organization.code},
                    contract=_contract(organization.id, now),
                    incidents=_open_incidents(organization.id))


def _contract(organization_id, now):
    contract = contract_active_at(organization_id, now)
    if contract is None:
        return None
    return {"plan": contract.plan, "service_class": contract.service_class,
            "onsite_support": contract.onsite_support, "desk_hours": contract.desk_hours,
            "ends_on": contract.ends_on.isoformat() if contract.ends_on else None}


def _open_incidents(organization_id):
    rows = db.session.execute(
        select(Incident.id, Incident.reference, Incident.state, Incident.summary)
        .where(Incident.organization_id == organization_id,
               Incident.state.not_in(FINAL_STATES))
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .limit(OPEN_INCIDENTS_SHOWN)).all()
    return [row._asdict() for row in rows]
