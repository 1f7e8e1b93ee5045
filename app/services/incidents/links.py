"""Links between incidents: B is a duplicate of A (B is cancelled for it), or two are related.

Decisions, each a clear refusal that changes nothing when broken:
- staff link (desk, dispatcher, admin); another role is a 403, an incident the actor
  cannot see a 404;
- an incident is not linked to itself (422), nor twice the same way (409 `link_exists`;
  `related` is one link whichever side it was made from);
- a duplicate belongs to the same organization as its original (422
  `different_organization`); related incidents may be of different organizations, which
  only staff ever see: a customer's page lists only the links to its own incidents;
- the original of a duplicate must not be cancelled or closed (409 `other_final`); the
  duplicate is cancelled by the workflow's `cancel` trigger with the reason "duplicate",
  so it is refused (409) where a cancel would be (e.g. a technician is on site);
- both incidents get a `linked` timeline event, and the duplicate's reporter is told (SMS
  and e-mail through the outbox) to follow the original's reference from now on.
"""

from sqlalchemy import or_, select

from app import access
from app.access import get_incident_for
from app.domain.timeutil import isoformat_utc, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import Incident, IncidentLink
from app.models.incident import LINK_KINDS
from app.services.actors import label_for
from app.services.incidents.audit import append_event
from app.services.incidents.contact import note_not_texted
from app.services.incidents.lifecycle import apply_trigger
from app.services.transaction import commit_or_conflict, conflict_as_409
from notifications.outbox import enqueue, enqueue_sms
from workflows.incident import FINAL_STATES

DUPLICATE_REASON = "duplicate"
# A link as seen from its other end.
REVERSE = {"duplicate_of": "duplicated_by", "related": "related"}


def _existing(incident, other, kind):
    pairs = [(incident.id, other.id)]
    if kind == "related":
        pairs.append((other.id, incident.id))
    return db.session.scalars(select(IncidentLink).where(
        IncidentLink.kind == kind,
        or_(*[(IncidentLink.incident_id == a) & (IncidentLink.other_id == b)
              for a, b in pairs]))).first()


def _refusal(incident, other, kind):
    """Why `incident` cannot be linked to `other` as `kind`, as the error; None if it can."""
    if kind not in LINK_KINDS:
        return InvalidInput("The link kind is duplicate_of or related.",
                            {"field": "kind", "allowed": list(LINK_KINDS)})
    if other.id == incident.id:
        return InvalidInput("An incident cannot be linked to itself.",
                            {"field": "incident_id", "reason": "self_link"})
    if _existing(incident, other, kind) is not None:
        return Conflict("These incidents are linked so already.",
                        {"reason": "link_exists", "kind": kind})
    if kind == "duplicate_of":
        if other.organization_id != incident.organization_id:
            return InvalidInput("A duplicate must be of the same organization's incident.",
                                {"field": "incident_id", "reason": "different_organization"})
        if other.state in FINAL_STATES:
            return Conflict("The incident to follow is cancelled or closed.",
                            {"field": "incident_id", "reason": "other_final",
                             "state": other.state})
    return None


def link_incidents(incident_id, other_id, kind, *, actor, now=None):
    """Link incident `incident_id` to `other_id` as `kind`; returns the new IncidentLink."""
    now = now or utcnow()
    incident = get_incident_for(actor, incident_id)
    access.require(actor, "incidents.link")
    other = get_incident_for(actor, other_id)
    refusal = _refusal(incident, other, kind)
    if refusal is not None:
        raise refusal
    with conflict_as_409(incident):
        link = _link(incident, other, kind, actor, now)
        commit_or_conflict(incident)
    return link


def _link(incident, other, kind, actor, now):
    """Cancel a duplicate and tell its reporter; the link row and both incidents' events."""
    if kind == "duplicate_of":
        apply_trigger(incident, "cancel", role=actor.role, actor=actor, now=now,
                      params={"reason": DUPLICATE_REASON},
                      note=f"{DUPLICATE_REASON}: {other.reference}")
        _tell_reporter(incident, other, now)
    link = IncidentLink(incident_id=incident.id, other_id=other.id, kind=kind,
                        created_at=now, created_by=actor.id)
    db.session.add(link)
    label = label_for(actor, "")
    for this, that, seen_as in ((incident, other, kind), (other, incident, REVERSE[kind])):
        append_event(this, kind="linked", actor=actor, actor_label=label, now=now,
                     data={"link": seen_as, "incident_id": that.id,
                           "reference": that.reference})
    return link


def incident_by_reference(actor, reference):
    """The incident with this reference (INC-YYYY-NNNNNN, any case, spaces ignored), if the
    actor may see it; else the same 404 as a missing one."""
    reference = "".join((reference or "").split()).upper()
    incident = db.session.scalars(access.scope_incidents(
        select(Incident).where(Incident.reference == reference), actor)).first()
    if incident is None:
        raise NotFound("Incident not found.", {"field": "reference"})
    return incident


def _tell_reporter(duplicate, original, now):
    """The duplicate's reporter follows the original's reference from now on."""
    context = {"reference": duplicate.reference, "other_reference": original.reference,
               "organization": duplicate.organization.name}
    if duplicate.reporter_phone:  # a text only to a mobile (notifications.outbox.enqueue_sms)
        skipped = enqueue_sms(duplicate.reporter_phone, "customer_duplicate", context,
                              incident=duplicate, now=now, whose="reporter",
                              dedupe_key=f"duplicate:{duplicate.id}:{original.id}:sms",
                              instead="email" if duplicate.reporter_email else "")
        note_not_texted(duplicate, [skipped], now)
    if duplicate.reporter_email:
        enqueue("email", duplicate.reporter_email, "customer_duplicate", context,
                incident=duplicate, dedupe_key=f"duplicate:{duplicate.id}:{original.id}:email",
                now=now)


def links_of(incident, viewer):
    """The incident's links as `viewer` may see them (only to incidents it can see), oldest
    first: {incident_id, reference, state, kind (from this incident's side), created_at}."""
    rows = db.session.scalars(select(IncidentLink).where(or_(
        IncidentLink.incident_id == incident.id, IncidentLink.other_id == incident.id))
        .order_by(IncidentLink.id)).all()
    ends = {row.id: (row.other_id, row.kind) if row.incident_id == incident.id
            else (row.incident_id, REVERSE[row.kind]) for row in rows}
    visible = {i.id: i for i in db.session.scalars(access.scope_incidents(
        select(Incident).where(Incident.id.in_([end for end, _ in ends.values()])), viewer))}
    return [{"incident_id": end, "reference": visible[end].reference,
             "state": visible[end].state, "kind": kind,
             "created_at": isoformat_utc(row.created_at)}
            for row in rows for end, kind in [ends[row.id]] if end in visible]


def followed_references(incident_ids, viewer):
    """{incident id: the reference to follow instead} for those of `incident_ids` merged
    into another incident `viewer` may see, in one query (a customer's list shows it)."""
    if not incident_ids:
        return {}
    rows = db.session.execute(access.scope_incidents(
        select(IncidentLink.incident_id, Incident.reference)
        .join(Incident, Incident.id == IncidentLink.other_id)
        .where(IncidentLink.kind == "duplicate_of",
               IncidentLink.incident_id.in_(list(incident_ids))), viewer)).all()
    return dict(rows)
