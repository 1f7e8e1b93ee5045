"""The customer's view of its own incident: the state in plain words, the timeline the
customer may read (the allow-list of app/domain/customer_timeline.py), the visits' work
reports and their online sign-off, the files it sent, and its own share of the costs.

Read through app/access.py: another organization's incident is the same 404 as a missing
one. Nothing here carries the desk's notes, cost lines or the insurer's messages.
"""

from dataclasses import dataclass, field
from datetime import datetime

from app import access
from app.domain.customer_timeline import (
    CUSTOMER_NOTE,
    CUSTOMER_SIGNOFF,
    EVIDENCE,
    EventFacts,
    customer_sees,
    sentence_for,
    state_sentence,
)
from app.extensions import db
from app.models import User
from app.services.incidents.links import followed_references

PAGE = "customer.pages"


@dataclass(frozen=True)
class CustomerEntry:
    """One line of the customer's timeline."""

    seq: int
    at: datetime
    kind: str
    trigger: str | None
    sentence: str
    text: str = ""  # the customer's own words (a note, a sign-off comment) or a file's name
    who: str = ""  # the customer login that did it; "" for the desk's and insurer's steps


@dataclass(frozen=True)
class CustomerVisit:
    """A completed visit's work report and its sign-offs (on paper on site, and online)."""

    dispatch_id: int
    technician: str
    arrived_at: datetime | None
    completed_at: datetime | None
    work_report: str
    signoff_name: str
    signed_off_at: datetime | None
    signed_off_by: str
    signoff_comment: str

    @property
    def may_sign_off(self):
        return self.signed_off_at is None and bool(self.work_report.strip())


@dataclass(frozen=True)
class CostShare:
    """The claim in yen, incl. tax: the total claimed, what insurance covers, the rest.

    `basis` says which insurance figure `covered` is: "computed" (the payout computed from
    the policy when the claim was submitted: app/domain/payout.py), "approved", "paid" or
    "denied" (covered 0)."""

    total: int
    covered: int
    own_share: int
    basis: str


@dataclass(frozen=True)
class CustomerFile:
    """A file a customer of the organization sent (staff's receipts are not listed)."""

    name: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


@dataclass
class CustomerIncident:
    """Everything the customer's incident page shows."""

    incident: object
    state_sentence: str
    entries: list = field(default_factory=list)
    visits: list = field(default_factory=list)
    files: list = field(default_factory=list)
    share: CostShare | None = None
    follow_reference: str | None = None  # merged as a duplicate: the reference to follow


def _customer_of(user, incident):
    """True when the user is a customer login of the incident's organization."""
    return user is not None and user.role == "customer" \
        and user.organization_id == incident.organization_id


def by_customer(event, incident):
    """True when a customer login of the incident's organization wrote the event."""
    return _customer_of(event.actor, incident)


def _facts(event, incident):
    return EventFacts(kind=event.kind, trigger=event.trigger,
                      by_customer=by_customer(event, incident))


def _own_text(event):
    """The words of a customer's own event that the customer reads back."""
    if event.kind == CUSTOMER_NOTE:
        return event.note
    if event.kind == CUSTOMER_SIGNOFF:
        return (event.data or {}).get("comment", "")
    if event.kind == EVIDENCE:
        return event.note  # the file's name as the customer gave it
    return ""


def customer_entries(incident):
    """The incident's timeline as the customer may read it, oldest first."""
    entries = []
    for event in incident.events:
        facts = _facts(event, incident)
        if not customer_sees(facts):
            continue
        who = event.actor_label if facts.by_customer else ""
        entries.append(CustomerEntry(
            seq=event.seq, at=event.occurred_at, kind=event.kind, trigger=event.trigger,
            sentence=sentence_for(facts, who), text=_own_text(event) if facts.by_customer
            else "", who=who))
    return entries


def _visits(incident):
    return [CustomerVisit(
        dispatch_id=d.id, technician=d.technician.name, arrived_at=d.arrived_at,
        completed_at=d.completed_at, work_report=d.work_report, signoff_name=d.signoff_name,
        signed_off_at=d.customer_signoff_at, signed_off_by=d.customer_signoff_label,
        signoff_comment=d.customer_signoff_comment)
        for d in incident.dispatches if d.state == "completed"]


def _files(incident):
    return [CustomerFile(name=e.original_name, size=e.size, sha256=e.sha256,
                         uploaded_at=e.uploaded_at, uploaded_by=e.uploaded_by_label)
            for e in incident.evidence
            if _uploaded_by_customer(e, incident)]


def _uploaded_by_customer(evidence, incident):
    return evidence.uploaded_by_id is not None \
        and _customer_of(db.session.get(User, evidence.uploaded_by_id), incident)


def cost_share(incident):
    """The customer's own share of the claim, or None before the claim is computed (it is
    computed when the desk submits it)."""
    claim = incident.claim
    if claim is None or not claim.computation:
        return None
    total = claim.claimed_amount
    if claim.paid_amount is not None:
        covered, basis = claim.paid_amount, "paid"
    elif any(e.trigger == "deny_claim" for e in incident.events):
        covered, basis = 0, "denied"
    elif claim.approved_amount is not None:
        covered, basis = claim.approved_amount, "approved"
    else:
        covered, basis = claim.payable_amount, "computed"
    return CostShare(total=total, covered=covered, own_share=max(0, total - covered),
                     basis=basis)


def customer_incident(user, incident_id):
    """The customer's page of one of its organization's incidents; 404 for any other."""
    access.require(user, PAGE)
    incident = access.get_incident_for(user, incident_id)
    return CustomerIncident(
        incident=incident, state_sentence=state_sentence(incident.state),
        entries=customer_entries(incident), visits=_visits(incident),
        files=_files(incident), share=cost_share(incident),
        follow_reference=followed_references([incident.id], user).get(incident.id))
