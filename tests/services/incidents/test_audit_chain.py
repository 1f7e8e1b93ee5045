"""The timeline's hash chain and `flask audit verify`."""

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Incident, IncidentEvent
from app.services.incidents.lifecycle import fire_trigger
from app.services.incidents.notes import add_note
from app.testkit import factories


@pytest.fixture
def chained(app):
    """Two incidents, the second with five events; returns its id."""
    with app.app_context():
        org = factories.make_organization()
        desk = factories.make_user("desk")
        factories.make_incident(org)
        incident = factories.make_incident(org)
        fire_trigger(incident.id, "start_triage", desk, note="call back")
        add_note(incident.id, desk, "isolated the PC")
        add_note(incident.id, desk, "logs kept")
        fire_trigger(incident.id, "resolve_remotely", desk)
        reference = incident.reference
        incident_id = incident.id
        db.session.remove()
    return incident_id, reference


def _verify(runner):
    return runner.invoke(args=["audit", "verify"])


def _event(incident_id, seq):
    return db.session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.seq == seq)).one()


def test_an_intact_chain_verifies(runner, chained):
    result = _verify(runner)
    assert result.exit_code == 0
    assert "OK" in result.output


def test_a_changed_event_is_named(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        db.session.execute(update(IncidentEvent).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.seq == 3)
            .values(note="nothing happened"))
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"{reference} event 3: content changed" in result.output


def test_a_changed_actor_or_time_is_detected(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        event = _event(incident_id, 2)
        event.actor_label = "someone-else@example.jp"
        db.session.commit()
    assert f"{reference} event 2" in _verify(runner).output


def test_a_deleted_event_is_named(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        db.session.delete(_event(incident_id, 2))
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"{reference} event 2: missing" in result.output


def test_a_deleted_last_event_is_detected(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        db.session.delete(_event(incident_id, 5))
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"{reference} event 5: chain ends early" in result.output


def test_reordered_events_are_named(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        third, fourth = _event(incident_id, 3), _event(incident_id, 4)
        third.seq, fourth.seq = 1000, 1001  # step aside of the unique (incident, seq)
        db.session.flush()
        third.seq, fourth.seq = 4, 3
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"{reference} event 3: does not follow" in result.output


def test_the_incident_keeps_its_chain_head(app, chained):
    incident_id, _ = chained
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        assert incident.event_count == 5
        assert incident.audit_head == incident.events[-1].hash
        assert [e.prev_hash for e in incident.events[1:]] == [e.hash for e in incident.events[:-1]]
