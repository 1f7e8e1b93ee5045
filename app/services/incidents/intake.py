"""Intake: an incident reported by phone, web form, e-mail or monitoring."""

from dataclasses import dataclass
from datetime import datetime

from app import access
from app.domain.timeutil import to_utc_naive, utcnow
from app.extensions import db
from app.models import Incident
from app.services.actors import label_for
from app.services.directory.organizations import known_organization
from app.services.incidents import sla
from app.services.incidents.audit import append_event
from app.services.incidents.references import number_incident
from workflows.incident import INITIAL_STATE


@dataclass
class IntakeRequest:
    """What a reporter tells the desk; views fill it from a form or JSON."""

    organization_id: int | None
    channel: str
    category: str
    severity: str
    summary: str
    description: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_email: str = ""
    discovered_at: datetime | None = None
    occurred_at: datetime | None = None
    discovery_source: str = "user"
    caller_id: str = ""  # the number the call came from, kept on the intake event
    needs_completion: bool = False  # opened with placeholder facts (the phone line)


def _organization_for(request, actor):
    """The reporting organization; a customer may only report for its own."""
    org_id = request.organization_id
    if access.acts_for_own_organization_only(actor):
        own = actor.organization_id
        org_id = own if org_id is None else org_id
        if own is None or org_id != own:
            org_id = None  # answered exactly like an unknown organization
    return known_organization(org_id)


def report_incident(request, actor=None, actor_label="web form", now=None, commit=True):
    """Record a new incident in `received`, with its reference, its first timeline event
    and its first-response SLA clock, in one transaction.

    The reads come first (organization, contract), then the year's reference counter, whose
    row stays locked until the commit, and last one flush that inserts the incident (its
    audit head included), the event and the clock, each row once. The incident returned is
    flushed: its id, reference and version are final before any commit.
    commit=False leaves the commit to a caller whose own change must go with the incident
    (the alert ingest: an alert and its incident are one commit), or who reads the incident
    before committing (the API's answer).
    """
    if actor is not None:
        access.require(actor, "incidents.report")
    now = now or utcnow()
    organization = _organization_for(request, actor)
    contract = sla.contract_active_at(organization.id, now)
    incident = _new_incident(request, organization, number_incident(now), now)
    db.session.add(incident)
    data = {"channel": request.channel, "category": request.category,
            "severity": request.severity}
    if request.caller_id:
        data["caller_id"] = request.caller_id
    append_event(incident, kind="intake", actor=actor, actor_label=label_for(actor, actor_label),
                 now=now, to_state=INITIAL_STATE, data=data)
    sla.start_for_intake(incident, now, contract)
    db.session.flush()
    if commit:
        db.session.commit()
    return incident


def _new_incident(request, organization, numbers, now):
    """The Incident row of an intake, not yet in the session (its chain still empty)."""
    return Incident(
        id=numbers.incident_id, reference=numbers.reference, organization_id=organization.id,
        channel=request.channel, category=request.category, severity=request.severity,
        summary=request.summary.strip(), description=request.description.strip(),
        reporter_name=request.reporter_name.strip(), reporter_phone=request.reporter_phone,
        reporter_email=request.reporter_email,
        discovered_at=to_utc_naive(request.discovered_at or now),
        occurred_at=to_utc_naive(request.occurred_at) if request.occurred_at else None,
        discovery_source=request.discovery_source, state=INITIAL_STATE,
        needs_completion=request.needs_completion,
        event_count=0, audit_head="", created_at=now, updated_at=now,
    )
