"""Issue 13 at the phone line: a call's incident waits to be completed; a stranger's
voicemail is kept for the desk to assign."""

from sqlalchemy import select

from app.extensions import db
from app.models import Incident, Voicemail
from tests.web.webhooks.test_incoming_calls import (
    CUSTOMER,
    RECORDING_URL,
    STRANGER,
    incoming,
    recording_params,
)


def test_a_call_s_incident_waits_to_be_completed(app, twilio, world, api):
    incoming(twilio, CUSTOMER)
    with app.app_context():
        incident = db.session.scalars(select(Incident)).one()
        incident_id = incident.id
        assert incident.needs_completion
        assert incident.events[0].data["caller_id"] == CUSTOMER
        db.session.remove()
    body = api("desk").get(f"/api/v1/incidents/{incident_id}").json
    assert body["needs_completion"] is True
    patched = api("desk").client.patch(
        f"/api/v1/incidents/{incident_id}", json={"version": body["version"],
                                                  "category": "ransomware"},
        headers=api("desk")._headers())
    assert patched.json["needs_completion"] is False
    assert patched.json["timeline"][-1]["data"]["completed"] is True


def test_a_customer_s_correction_does_not_complete_the_call(app, twilio, world, api):
    incoming(twilio, CUSTOMER)
    with app.app_context():
        incident_id = db.session.scalars(select(Incident.id)).one()
        db.session.remove()
    body = api("customer").get(f"/api/v1/incidents/{incident_id}").json
    patched = api("customer").client.patch(
        f"/api/v1/incidents/{incident_id}", json={"version": body["version"],
                                                  "description": "PCが動かない"},
        headers=api("customer")._headers())
    assert patched.status_code == 200
    assert patched.json["needs_completion"] is True


def test_a_stranger_s_voicemail_is_kept_once_for_the_desk(app, twilio, world):
    path = "/webhooks/twilio/recording/unregistered?caller=%2B819011112222"
    assert twilio(path, recording_params()).status_code == 204
    # The same report again is refused as a replay and keeps nothing twice.
    assert twilio(path, recording_params()).status_code == 409
    with app.app_context():
        kept = db.session.scalars(select(Voicemail)).one()
        assert (kept.caller, kept.url, kept.duration, kept.incident_id) == (
            STRANGER, RECORDING_URL, 42, None)
        assert db.session.scalars(select(Incident)).first() is None
        db.session.remove()
