"""Shared by the dispatch page tests: an incident with an offer, its SMS link, a snapshot.

Every helper opens and closes its own app context and returns plain values, so no
context is held around test-client requests.
"""

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Dispatch,
    EscalationStep,
    Incident,
    IncidentEvent,
    Notification,
    Organization,
    UsedLink,
    User,
)
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories

XSS = "<script>window.__xss=1</script>"
ESCAPED = "&lt;script&gt;window.__xss=1&lt;/script&gt;"
LINK = re.compile(r"https?://\S+/a/([\w.-]+)")


def requested_incident(app, world, **fields):
    """An incident of org A whose dispatch the desk requested: offered to world.technician."""
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        incident = factories.make_incident(org, state="triaging", **fields)
        fire_trigger(incident.id, "request_dispatch", db.session.get(User, world.users["desk"]))
        incident_id = incident.id
        db.session.remove()
    return incident_id


def dispatches_of(app, incident_id):
    """[(dispatch id, technician id, state)] of an incident, oldest first."""
    with app.app_context():
        rows = db.session.execute(select(Dispatch.id, Dispatch.technician_id, Dispatch.state)
                                  .where(Dispatch.incident_id == incident_id)
                                  .order_by(Dispatch.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def offer_token(app, dispatch_id):
    """The token of the accept link in the dispatch's offer SMS, as the technician got it."""
    with app.app_context():
        body = db.session.scalars(select(Notification.body).where(
            Notification.dispatch_id == dispatch_id, Notification.channel == "sms",
            Notification.template == "offer")).first()
        db.session.remove()
    return LINK.search(body).group(1)


def incident_state(app, incident_id):
    with app.app_context():
        state = db.session.get(Incident, incident_id).state
        db.session.remove()
    return state


def dispatch_actions(app, incident_id):
    """The dispatch events of the timeline: [(action, actor label, note)]."""
    with app.app_context():
        events = db.session.scalars(select(IncidentEvent).where(
            IncidentEvent.incident_id == incident_id).order_by(IncidentEvent.seq)).all()
        actions = [(e.data.get("action") or e.trigger, e.actor_label, e.note) for e in events
                   if e.kind in ("dispatch", "transition")]
        db.session.remove()
    return actions


def snapshot(app):
    """Everything a dispatch page could change: row counts, states and versions."""
    models = (Incident, IncidentEvent, Dispatch, EscalationStep, Notification, UsedLink)
    with app.app_context():
        counts = tuple(db.session.scalar(select(func.count()).select_from(m)) for m in models)
        incidents = db.session.execute(select(Incident.id, Incident.state, Incident.version,
                                              Incident.assigned_technician_id)).all()
        dispatches = db.session.execute(select(Dispatch.id, Dispatch.state,
                                               Dispatch.version)).all()
        steps = db.session.execute(select(EscalationStep.id, EscalationStep.status)).all()
        db.session.remove()
    return counts, sorted(map(tuple, incidents)), sorted(map(tuple, dispatches)), \
        sorted(map(tuple, steps))
