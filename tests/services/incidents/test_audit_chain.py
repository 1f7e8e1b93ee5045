"""The timeline's hash chain and `flask audit verify`."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from app.extensions import db
from app.models import Incident, IncidentEvent
from app.services.claims import packets
from app.services.incidents.audit import audit_key, event_hash, head_signature_valid, verify_chains
from app.services.incidents.lifecycle import fire_trigger
from app.services.incidents.notes import add_note
from app.services.signing import SigningKeyError, raw_bytes
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


# The signed head: the hashes are public, the key is not.

def _rewrite_from(incident_id, seq, **changes):
    """What someone with database write access can do: change an event, then recompute
    every following hash and the incident's head with the public function."""
    incident = db.session.get(Incident, incident_id)
    for event in incident.events:
        if event.seq == seq:
            for name, value in changes.items():
                setattr(event, name, value)
        if event.seq > 1:
            event.prev_hash = incident.events[event.seq - 2].hash
        event.hash = event_hash(event)
    db.session.execute(update(Incident).where(Incident.id == incident_id).values(
        audit_head=incident.events[-1].hash, event_count=len(incident.events)))
    db.session.commit()


def _other_key():
    return base64.b64encode(raw_bytes(Ed25519PrivateKey.generate())).decode()


def test_every_append_signs_the_head_with_the_audit_key(app, chained):
    incident_id, _ = chained
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        assert incident.audit_signature
        assert head_signature_valid(incident)
        assert verify_chains() is None


def test_an_event_changed_and_rehashed_with_the_public_function_fails(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        _rewrite_from(incident_id, 3, note="nothing happened")
        assert _event(incident_id, 3).hash == event_hash(_event(incident_id, 3))
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN: {reference} head at event 5: signature does not match" in result.output


def test_newest_events_cut_off_and_the_head_moved_back_fail(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        db.session.delete(_event(incident_id, 5))
        db.session.commit()
        _rewrite_from(incident_id, 4)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"{reference} head at event 4: signature does not match" in result.output


def test_a_signature_made_with_another_key_fails(app, runner, chained, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", _other_key())
    result = _verify(runner)
    assert result.exit_code == 1
    assert result.output.count("signature does not match") == 2  # both incidents


def test_a_configured_audit_key_signs_and_verifies(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", _other_key())
    with app.app_context():
        factories.make_incident(factories.make_organization())
    assert _verify(runner).exit_code == 0
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", "")
    assert "signature does not match" in _verify(runner).output


def test_the_derived_audit_key_is_not_the_claim_key(app, ctx):
    claim_key = raw_bytes(packets.signing_key())
    assert raw_bytes(audit_key()[0]) != claim_key


def test_a_malformed_audit_key_is_a_clear_error(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", "not base64!")
    with pytest.raises(SigningKeyError, match="AUDIT_SIGNING_KEY"):
        audit_key()


def test_an_unsigned_legacy_chain_is_reported_until_signed(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        db.session.execute(update(Incident).values(audit_signature=""))
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"UNSIGNED: {reference} head at event 5: not signed (a legacy chain" in result.output
    assert "2 incident(s) fail: 0 broken or wrongly signed, 2 unsigned." in result.output
    signed = runner.invoke(args=["audit", "sign-unsigned"])
    assert signed.exit_code == 0
    assert "Signed 2 chain head(s); 0 unsigned" in signed.output
    assert _verify(runner).exit_code == 0


def test_a_broken_unsigned_chain_is_left_unsigned(app, runner, chained):
    incident_id, reference = chained
    with app.app_context():
        db.session.execute(update(Incident).values(audit_signature=""))
        db.session.execute(update(IncidentEvent).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.seq == 2)
            .values(note="changed"))
        db.session.commit()
    signed = runner.invoke(args=["audit", "sign-unsigned"])
    assert signed.exit_code == 1
    assert "Signed 1 chain head(s); 1 unsigned chain(s) are broken" in signed.output
    with app.app_context():
        assert db.session.get(Incident, incident_id).audit_signature == ""
    assert f"BROKEN: {reference} event 2: content changed" in _verify(runner).output
