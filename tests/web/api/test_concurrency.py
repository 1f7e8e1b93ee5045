"""Concurrent writers: exactly one transition wins, intake references never collide."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from app.extensions import db
from app.models import Incident, IncidentEvent
from app.testkit import factories

WRITERS = 20


def _race(app, requests):
    """Send the requests from separate threads, released together by a barrier."""
    barrier = threading.Barrier(len(requests))

    def send(request):
        client = app.test_client()
        barrier.wait()
        return request(client)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_twenty_concurrent_transitions_one_wins_the_rest_get_409(app, world):
    with app.app_context():
        incident_id = factories.make_incident(db.session.get(
            factories.Organization, world.org_a)).id
    headers = {"Authorization": f"Bearer {world.tokens['desk']}"}
    statuses = [r.status_code for r in _race(app, [
        lambda c: c.post(f"/api/v1/incidents/{incident_id}/transitions",
                         json={"trigger": "start_triage"}, headers=headers)
    ] * WRITERS)]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == WRITERS - 1, statuses
    with app.app_context():
        transitions = db.session.scalar(select(func.count(IncidentEvent.id)).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "transition"))
        assert transitions == 1
        assert db.session.get(Incident, incident_id).state == "triaging"


def test_concurrent_different_triggers_never_lose_an_update(app, world):
    """cancel and start_triage race: whichever wins, the loser sees a 409 and no event."""
    with app.app_context():
        incident_id = factories.make_incident(db.session.get(
            factories.Organization, world.org_a)).id
    headers = {"Authorization": f"Bearer {world.tokens['desk']}"}
    bodies = [{"trigger": "start_triage"}, {"trigger": "cancel", "reason": "duplicate"}] * 5
    def poster(body):
        return lambda c: c.post(f"/api/v1/incidents/{incident_id}/transitions", json=body,
                                headers=headers)

    responses = _race(app, [poster(body) for body in bodies])
    winners = [r for r in responses if r.status_code == 200]
    assert {r.status_code for r in responses} <= {200, 409}
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        events = [e for e in incident.events if e.kind == "transition"]
        # Every 200 is on the timeline, in order, and the state is the last one's.
        assert len(events) == len(winners)
        assert incident.state == events[-1].to_state


def test_concurrent_intakes_never_share_a_reference(app, world):
    headers = {"Authorization": f"Bearer {world.tokens['desk']}"}
    body = {"organization_id": world.org_a, "channel": "web", "category": "dos",
            "summary": "サイトが重い"}
    responses = _race(app, [
        lambda c: c.post("/api/v1/incidents", json=body, headers=headers)] * WRITERS)
    assert [r.status_code for r in responses] == [201] * WRITERS
    references = {r.json["reference"] for r in responses}
    assert len(references) == WRITERS
    numbers = sorted(int(ref[-6:]) for ref in references)
    assert numbers == list(range(numbers[0], numbers[0] + WRITERS))
