"""Recording remote-triage checklist ticks on the timeline."""

from app import access
from app.access import get_incident_for
from app.domain.timeutil import utcnow
from app.domain.triage import checklist_for
from app.errors import Conflict, InvalidInput
from app.services.actors import label_for
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict


def record_check(incident_id, actor, item, checked, now=None):
    """Record that a checklist item was ticked (or unticked) during triage."""
    incident = get_incident_for(actor, incident_id)
    access.require(actor, "incidents.triage")
    if item not in dict(checklist_for(incident.category)):
        raise InvalidInput("That item is not on this category's checklist.", {"field": "item"})
    if incident.state != "triaging":
        raise Conflict("Checklist items are recorded while the incident is in triage.",
                       {"state": incident.state})
    event = append_event(incident, kind="triage_check", actor=actor,
                         actor_label=label_for(actor, ""), now=now or utcnow(),
                         data={"item": item, "checked": bool(checked)})
    commit_or_conflict(incident)
    return event


def checklist_state(incident):
    """Each item's latest tick, from the timeline: {item: checked}."""
    ticks = {}
    for event in incident.events:
        if event.kind == "triage_check":
            ticks[event.data["item"]] = event.data["checked"]
    return ticks
