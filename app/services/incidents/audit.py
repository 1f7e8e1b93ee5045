"""The hash-chained incident timeline: appending events, signing the chain's head with the
server's audit key, and verifying both.

The hashes alone can be recomputed by anyone who can write the database; the head's
Ed25519 signature (over the incident id, the event count and the newest hash) cannot be
made without the key, which lives in the server's environment, not in the database.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Incident, IncidentEvent
from app.services.signing import (
    CLAIM_DEV_KEY_FILE,
    configured_key,
    derived_key,
    key_from_setting,
)

GENESIS = "0" * 64
HEAD_PURPOSE = "audit-chain-head/v1"


def audit_key():
    """The key signing chain heads: AUDIT_SIGNING_KEY, else one derived from the claim
    key. Loaded once per app and setting (an append signs; it reads no file)."""
    config = current_app.config
    settings = (config.get("AUDIT_SIGNING_KEY", ""), config.get("CLAIM_SIGNING_KEY", ""),
                current_app.instance_path)
    cached = current_app.extensions.get("audit_key")
    if cached is None or cached[0] != settings:
        if settings[0]:
            key = key_from_setting("AUDIT_SIGNING_KEY")
        else:
            key = derived_key(configured_key("CLAIM_SIGNING_KEY", CLAIM_DEV_KEY_FILE),
                              HEAD_PURPOSE)
        cached = current_app.extensions["audit_key"] = (settings, key, key.public_key())
    return cached[1], cached[2]


def head_message(incident_id, event_count, head):
    """The bytes a head signature covers: which incident, how many events, the newest hash."""
    return f"kaketsuke/{HEAD_PURPOSE}:{incident_id}:{event_count}:{head}".encode()


def sign_head(incident):
    """Sign the incident's current chain head (in the caller's transaction)."""
    private, _ = audit_key()
    signature = private.sign(head_message(incident.id, incident.event_count,
                                          incident.audit_head))
    incident.audit_signature = base64.b64encode(signature).decode()


def head_signature_valid(incident):
    """True when the stored signature is the audit key's over the stored head."""
    _, public = audit_key()
    try:
        public.verify(base64.b64decode(incident.audit_signature, validate=True),
                      head_message(incident.id, incident.event_count, incident.audit_head))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


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
    sign_head(incident)
    db.session.add(event)
    return event


UNSIGNED = "unsigned"
BAD_SIGNATURE = "bad_signature"


@dataclass
class BrokenLink:
    """The first place an incident's chain does not hold, and why; `kind` is "chain" for
    the events, UNSIGNED or BAD_SIGNATURE for an intact chain whose head is not vouched for."""

    reference: str
    seq: int
    problem: str
    kind: str = "chain"

    def __str__(self):
        where = "event" if self.kind == "chain" else "head at event"
        return f"{self.reference} {where} {self.seq}: {self.problem}"


def _check_head(incident):
    """The head's signature problem, or None when the audit key signed this very head."""
    if not incident.audit_signature:
        return BrokenLink(incident.reference, incident.event_count,
                          "not signed (a legacy chain written before heads were signed, "
                          "or its signature was removed)", UNSIGNED)
    if not head_signature_valid(incident):
        return BrokenLink(incident.reference, incident.event_count,
                          "signature does not match (the head was rewritten without the "
                          "server's key, or it was signed with another key)", BAD_SIGNATURE)
    return None


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
    """Walk every incident's timeline; return the first problem, or None when intact."""
    return next(chain_problems(batch_size), None)


def chain_problems(batch_size=500):
    """Each incident's first problem, by id: a broken link, else an unsigned or wrongly
    signed head. Reads the same two statements a batch as before heads were signed."""
    for incident, events in _incidents_with_events(batch_size):
        broken = _check_chain(incident, events) or _check_head(incident)
        if broken:
            yield broken


def sign_unsigned_heads(batch_size=500):
    """Sign the head of every unsigned chain that is intact (once, after an upgrade: the
    operator vouches for the chains as they are now). Returns (signed, left broken)."""
    signed = left = 0
    for incident, events in _incidents_with_events(batch_size, unsigned_only=True):
        if _check_chain(incident, events):
            left += 1
            continue
        sign_head(incident)
        signed += 1
    db.session.commit()
    return signed, left


def _incidents_with_events(batch_size, unsigned_only=False):
    """Every incident with its events in order, a batch at a time."""
    last_id = 0
    while True:
        query = select(Incident).where(Incident.id > last_id)
        if unsigned_only:
            query = query.where(Incident.audit_signature == "")
        incidents = db.session.scalars(query.order_by(Incident.id).limit(batch_size)).all()
        if not incidents:
            return None
        events_by_incident = {incident.id: [] for incident in incidents}
        for event in db.session.scalars(
            select(IncidentEvent).where(IncidentEvent.incident_id.in_(events_by_incident))
            .order_by(IncidentEvent.incident_id, IncidentEvent.seq)
        ):
            events_by_incident[event.incident_id].append(event)
        for incident in incidents:
            yield incident, events_by_incident[incident.id]
        last_id = incidents[-1].id
        if unsigned_only:
            db.session.commit()  # the batch's new signatures, before they are expunged
        db.session.expunge_all()  # keep memory flat over a million incidents
