"""The hash-chained incident timeline: appending events and verifying the chain."""

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Incident, IncidentEvent

GENESIS = "0" * 64


def _canonical(event):
    """The bytes an event's hash covers: every field but its own hash, in a fixed form."""
    content = {
        "incident_id": event.incident_id, "seq": event.seq, "kind": event.kind,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id, "actor_label": event.actor_label,
        "trigger": event.trigger, "from_state": event.from_state, "to_state": event.to_state,
        "note": event.note or "", "data": event.data or {}, "prev_hash": event.prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event):
    """SHA-256 of the event's canonical content, hex."""
    return hashlib.sha256(_canonical(event).encode()).hexdigest()


def append_event(incident, *, kind, actor, actor_label, now, trigger=None, from_state=None,
                 to_state=None, note="", data=None):
    """Add the next timeline event to the session and move the incident's chain head.

    The incident row's version goes up with its head, so two writers appending at
    once cannot both commit: one gets a stale-version conflict. The hash covers the
    incident's id, so a new incident needs its id first; it then takes its head in its
    INSERT (intake numbers it before building it: references.number_incident).
    """
    if incident.id is None:
        raise ValueError("an incident's id must be known before its first event is hashed")
    event = IncidentEvent(
        incident=incident, incident_id=incident.id, seq=incident.event_count + 1, kind=kind,
        occurred_at=now.replace(tzinfo=None), actor_id=actor.id if actor else None,
        actor_label=actor_label, trigger=trigger, from_state=from_state, to_state=to_state,
        note=note or "", data=data or {}, prev_hash=incident.audit_head or GENESIS,
    )
    event.hash = event_hash(event)
    incident.event_count = event.seq
    incident.audit_head = event.hash
    db.session.add(event)
    return event


@dataclass
class BrokenLink:
    """The first place an incident's chain does not hold, and why."""

    reference: str
    seq: int
    problem: str

    def __str__(self):
        return f"{self.reference} event {self.seq}: {self.problem}"


def _check_chain(incident, events):
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return BrokenLink(incident.reference, expected_seq,
                              f"missing (found seq {event.seq} in its place)")
        if event.prev_hash != prev:
            return BrokenLink(incident.reference, event.seq,
                              "does not follow the previous event (reordered or removed)")
        if event_hash(event) != event.hash:
            return BrokenLink(incident.reference, event.seq, "content changed after it was written")
        prev = event.hash
    if len(events) != incident.event_count or prev != (incident.audit_head or GENESIS):
        return BrokenLink(incident.reference, len(events) + 1,
                          f"chain ends early: {incident.event_count} events recorded, "
                          f"{len(events)} found")
    return None


def verify_chains(batch_size=500):
    """Walk every incident's timeline; return the first broken link, or None when intact."""
    last_id = 0
    while True:
        incidents = db.session.scalars(
            select(Incident).where(Incident.id > last_id).order_by(Incident.id).limit(batch_size)
        ).all()
        if not incidents:
            return None
        events_by_incident = {incident.id: [] for incident in incidents}
        for event in db.session.scalars(
            select(IncidentEvent).where(IncidentEvent.incident_id.in_(events_by_incident))
            .order_by(IncidentEvent.incident_id, IncidentEvent.seq)
        ):
            events_by_incident[event.incident_id].append(event)
        for incident in incidents:
            broken = _check_chain(incident, events_by_incident[incident.id])
            if broken:
                return broken
        last_id = incidents[-1].id
        db.session.expunge_all()  # keep memory flat over a million incidents
