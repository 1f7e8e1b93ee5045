"""Notes on an incident's timeline: the staff's notes, and the information a customer adds
for the desk (its own kind, which the customer reads back: app/domain/customer_timeline.py;
the staff's notes stay internal)."""

from app.access import acts_for_own_organization_only, get_incident_for, note_shared_with_insurer
from app.domain.customer_timeline import CUSTOMER_NOTE
from app.domain.timeline import SHARED_WITH_INSURER
from app.domain.timeutil import utcnow
from app.errors import InvalidInput
from app.services.actors import label_for
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict

NOTE_MAX = 5000


def note_kind(actor):
    """A customer's note is information for the desk; everyone else's an internal note."""
    return CUSTOMER_NOTE if acts_for_own_organization_only(actor) else "note"


def add_note(incident_id, actor, text, now=None, share_with_insurer=False):
    """Append a note by `actor` to an incident they may see.

    The insurer reads only the notes shared with it (the early notice, the claim documents,
    its pages and the API); an insurer's own note is its to read. The flag is in the
    event's data, so the hash chain covers it like the text.
    """
    text = (text or "").strip()
    if not text or len(text) > NOTE_MAX:
        raise InvalidInput(f"A note needs 1 to {NOTE_MAX} characters.", {"field": "note"})
    incident = get_incident_for(actor, incident_id)
    event = append_event(incident, kind=note_kind(actor), actor=actor,
                         actor_label=label_for(actor, ""), now=now or utcnow(), note=text,
                         data={SHARED_WITH_INSURER: True}
                         if note_shared_with_insurer(actor, share_with_insurer) else None)
    commit_or_conflict(incident)
    return event
