"""The desk number's calls for the screen pop: the incoming webhook records a ringing call,
the number's status callback ends it; bad or replayed callbacks change nothing."""

from sqlalchemy import select

from app.extensions import db
from app.models import Incident, PhoneCall
from tests.web.webhooks.helpers import snapshot

CUSTOMER = "+81312345678"  # org A's registered number
SID = "CA" + "5" * 32
STATUS = "/webhooks/twilio/voice/incoming/status"


def ring(twilio, caller, sid=SID):
    return twilio("/webhooks/twilio/voice/incoming",
                  {"CallSid": sid, "From": caller, "To": "+81500000000",
                   "Direction": "inbound", "CallStatus": "ringing"})


def the_call(app):
    with app.app_context():
        call = db.session.scalars(select(PhoneCall)).one()
        db.session.expunge_all()
        return call


def test_a_registered_callers_call_rings_with_its_organization_and_incident(app, twilio,
                                                                             world):
    assert ring(twilio, CUSTOMER).status_code == 200
    call = the_call(app)
    with app.app_context():
        incident = db.session.scalars(select(Incident)).one()
    assert (call.call_sid, call.from_number, call.status, call.ended_at) == (
        SID, CUSTOMER, "ringing", None)
    assert (call.organization_id, call.incident_id) == (world.org_a, incident.id)


def test_an_unregistered_caller_rings_without_organization(app, twilio, world):
    ring(twilio, "+819011112222")
    call = the_call(app)
    assert (call.from_number, call.organization_id, call.incident_id) == (
        "+819011112222", None, None)


def test_the_status_callback_ends_the_call(app, twilio, world):
    ring(twilio, CUSTOMER)
    response = twilio(STATUS, {"CallSid": SID, "CallStatus": "completed", "CallDuration": "42"})
    assert response.status_code == 204
    call = the_call(app)
    assert call.status == "completed" and call.ended_at is not None


def test_an_unknown_status_is_a_422_and_changes_nothing(app, twilio, world):
    ring(twilio, CUSTOMER)
    before = snapshot(app)
    response = twilio(STATUS, {"CallSid": SID, "CallStatus": "melted"})
    assert response.status_code == 422
    assert snapshot(app) == before
    assert the_call(app).status == "ringing"


def test_an_unsigned_or_replayed_status_changes_nothing(app, twilio, world):
    ring(twilio, CUSTOMER)
    assert twilio(STATUS, {"CallSid": SID, "CallStatus": "completed"},
                  signature="forged").status_code == 403
    assert the_call(app).ended_at is None
    twilio(STATUS, {"CallSid": SID, "CallStatus": "no-answer"})
    assert twilio(STATUS, {"CallSid": SID, "CallStatus": "no-answer"}).status_code == 409
    assert the_call(app).status == "no-answer"


def test_a_status_of_a_call_never_recorded_is_accepted_and_records_nothing(app, twilio,
                                                                            world):
    assert twilio(STATUS, {"CallSid": SID, "CallStatus": "completed"}).status_code == 204
    with app.app_context():
        assert db.session.scalars(select(PhoneCall)).all() == []
