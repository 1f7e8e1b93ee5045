"""A hundred people press the same button at once: one wins, 99 get a clean 409.

Threads released together by a barrier, each with its own test client and database
session. On PostgreSQL the winners are chosen by row locks and the version column; on
SQLite by its single writer (BEGIN IMMEDIATE, busy_timeout), which the development server
relies on in the same way, so the race runs on both.
"""

from collections import Counter

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Dispatch,
    EscalationStep,
    Incident,
    IncidentEvent,
    InsurerNotice,
    Notification,
)
from app.services.incidents.audit import verify_chains
from tests.web.api.test_concurrency import _race
from tests.web.api.test_dispatches_api import dispatches, requested
from tests.web.api.test_incidents_api import assert_error, create

RACERS = 100


def _technician_token(world, technician_id):
    role = "technician" if technician_id == world.technician else "other_technician"
    return world.tokens[role]


def _open_offer(api, world):
    """A fresh incident in dispatch_requested: (incident id, its offer id, the token to answer)."""
    incident = requested(api, world)
    (offer,) = [d for d in dispatches(api, incident) if d["state"] == "offered"]
    return incident, offer["id"], _technician_token(world, offer["technician"]["id"])


def _mark(app, incident_id):
    """Where the incident's timeline and the outbox stand now."""
    with app.app_context():
        seq = db.session.scalar(select(func.max(IncidentEvent.seq)).where(
            IncidentEvent.incident_id == incident_id))
        notification = db.session.scalar(select(func.max(Notification.id))) or 0
        db.session.remove()
    return seq, notification


def _effects(app, incident_id, mark):
    """What happened to the incident since `mark`, in terms that do not name the incident."""
    seq, notification = mark
    with app.app_context():
        events = db.session.scalars(select(IncidentEvent).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.seq > seq)
            .order_by(IncidentEvent.seq)).all()
        messages = db.session.scalars(select(Notification).where(
            Notification.incident_id == incident_id, Notification.id > notification)).all()
        incident = db.session.get(Incident, incident_id)
        effects = {
            "events": [(e.kind, e.trigger, e.from_state, e.to_state, (e.data or {}).get("action"))
                       for e in events],
            "messages": Counter((m.template, m.channel) for m in messages),
            "notices": sorted(n.kind for n in db.session.scalars(select(InsurerNotice).where(
                InsurerNotice.incident_id == incident_id))),
            "dispatches": sorted((d.state, d.responded_at is not None)
                                 for d in incident.dispatches),
            "pending_timers": db.session.scalar(select(func.count(EscalationStep.id)).join(
                Dispatch).where(Dispatch.incident_id == incident_id,
                                EscalationStep.status == "pending")),
            "state": incident.state,
            "holder_is_the_accepting_technician": incident.assigned_technician_id is not None
            and incident.assigned_technician_id in {
                d.technician_id for d in incident.dispatches if d.state == "accepted"},
        }
        db.session.remove()
    return effects


def _chains_intact(app):
    with app.app_context():
        broken = verify_chains()
        db.session.remove()
    return broken is None


def test_a_hundred_concurrent_accepts_of_one_offer_one_wins_and_the_rest_get_409(
        app, api, world):
    # The same accept once, with nobody racing: what one accept does to an incident.
    control, control_offer, control_token = _open_offer(api, world)
    control_mark = _mark(app, control)
    alone = api(None).client.post(f"/api/v1/dispatches/{control_offer}/transitions",
                                  json={"trigger": "accept"},
                                  headers={"Authorization": f"Bearer {control_token}"})
    assert alone.status_code == 200, alone.text
    expected = _effects(app, control, control_mark)

    incident, offer, token = _open_offer(api, world)
    mark = _mark(app, incident)
    headers = {"Authorization": f"Bearer {token}"}
    responses = _race(app, [
        lambda c: c.post(f"/api/v1/dispatches/{offer}/transitions", json={"trigger": "accept"},
                         headers=headers)] * RACERS)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: RACERS - 1}, statuses
    (won,) = [r for r in responses if r.status_code == 200]
    assert (won.json["id"], won.json["state"]) == (offer, "accepted")
    for lost in (r for r in responses if r.status_code == 409):
        assert_error(lost, 409, "offer_closed")
    # The raced incident ends exactly as the uncontended one: one transition, one early
    # notice, each message once, every timer stopped.
    effects = _effects(app, incident, mark)
    assert effects == expected
    assert [e for e in effects["events"] if e[1] == "assign_technician"] == [
        ("transition", "assign_technician", "dispatch_requested", "technician_assigned", None)]
    assert effects["state"] == "technician_assigned"
    assert effects["holder_is_the_accepting_technician"]
    assert effects["pending_timers"] == 0
    assert _chains_intact(app)


def test_a_hundred_concurrent_transitions_of_one_incident_one_wins_and_the_chain_holds(
        app, api, world):
    incident = create(api, world)["id"]
    mark = _mark(app, incident)
    headers = {"Authorization": f"Bearer {world.tokens['desk']}"}
    responses = _race(app, [
        lambda c: c.post(f"/api/v1/incidents/{incident}/transitions",
                         json={"trigger": "start_triage"}, headers=headers)] * RACERS)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: RACERS - 1}, statuses
    (won,) = [r for r in responses if r.status_code == 200]
    assert won.json["state"] == "triaging"
    codes = Counter()
    for lost in (r for r in responses if r.status_code == 409):
        # Lost the row (concurrent_update) or came after the winner (illegal_transition).
        assert lost.is_json and set(lost.json["error"]) == {"code", "message", "details"}
        codes[lost.json["error"]["code"]] += 1
    assert set(codes) <= {"concurrent_update", "illegal_transition"}, codes
    effects = _effects(app, incident, mark)
    assert [e[:4] for e in effects["events"]] == [
        ("transition", "start_triage", "received", "triaging")]
    assert effects["state"] == "triaging"
    with app.app_context():
        assert db.session.get(Incident, incident).event_count == mark[0] + 1
        db.session.remove()
    assert _chains_intact(app)
