"""Twilio's status callbacks update the outbox and drive the escalation."""

from sqlalchemy import select

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Dispatch, Incident, Notification
from app.services.actors import ActingTechnician
from app.services.dispatch.visits import accept
from tests.web.webhooks.helpers import mark_sent, offer_messages, snapshot, steps_of

SMS_SID = "SM" + "a" * 32
CALL_SID = "CA" + "b" * 32


def sms_status(twilio, status, sid=SMS_SID, **extra):
    return twilio("/webhooks/twilio/status/sms",
                  {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status} | extra)


def call_status(twilio, status, sid=CALL_SID):
    return twilio("/webhooks/twilio/status/voice", {"CallSid": sid, "CallStatus": status})


def message(app, sid):
    with app.app_context():
        row = db.session.scalars(select(Notification).filter_by(provider_id=sid)).one()
        db.session.expunge_all()
        return row


def last_event(app, incident_id):
    with app.app_context():
        event = db.session.get(Incident, incident_id).events[-1]
        db.session.expunge_all()
        return event


def test_a_delivered_sms_is_recorded_and_a_late_sent_does_not_undo_it(app, twilio, dispatched):
    mark_sent(app, dispatched.dispatch, "sms", SMS_SID)
    assert sms_status(twilio, "delivered").status_code == 204
    assert message(app, SMS_SID).status == "delivered"
    assert sms_status(twilio, "sent").status_code == 204  # arrived out of order
    assert message(app, SMS_SID).status == "delivered"


def test_a_failed_offer_sms_brings_the_voice_call_forward(app, twilio, dispatched):
    mark_sent(app, dispatched.dispatch, "sms", SMS_SID)
    voice_was_due = steps_of(app, dispatched.dispatch)["voice"][1]
    assert voice_was_due > utcnow()
    assert sms_status(twilio, "failed", ErrorCode="30008").status_code == 204
    row = message(app, SMS_SID)
    assert (row.status, row.last_error) == ("failed", "twilio: failed (error 30008)")
    status, due = steps_of(app, dispatched.dispatch)["voice"]
    assert status == "pending" and due <= utcnow()
    assert steps_of(app, dispatched.dispatch)["next_candidate"][1] > utcnow()
    event = last_event(app, dispatched.incident)
    assert (event.kind, event.actor_label) == ("dispatch", "Twilio")
    expected = {"action": "not_reached", "channel": "sms", "status": "failed",
                "error_code": "30008", "next_step": "voice", "dispatch_id": dispatched.dispatch}
    assert expected.items() <= event.data.items()


def test_an_undelivered_sms_also_brings_the_next_step_forward(app, twilio, dispatched):
    mark_sent(app, dispatched.dispatch, "sms", SMS_SID)
    sms_status(twilio, "undelivered", ErrorCode="30003")
    assert message(app, SMS_SID).status == "undelivered"
    assert steps_of(app, dispatched.dispatch)["voice"][1] <= utcnow()


def test_an_unanswered_offer_call_brings_the_next_candidate_forward(app, twilio, dispatched):
    mark_sent(app, dispatched.dispatch, "sms", SMS_SID)
    mark_sent(app, dispatched.dispatch, "voice", CALL_SID)
    assert call_status(twilio, "no-answer").status_code == 204
    row = message(app, CALL_SID)
    assert (row.status, row.last_error) == ("undelivered", "twilio: no-answer")
    status, due = steps_of(app, dispatched.dispatch)["next_candidate"]
    assert status == "pending" and due <= utcnow()
    assert last_event(app, dispatched.incident).data["next_step"] == "next_candidate"


def test_a_busy_line_counts_as_not_reached(app, twilio, dispatched):
    mark_sent(app, dispatched.dispatch, "voice", CALL_SID)
    call_status(twilio, "busy")
    assert message(app, CALL_SID).status == "undelivered"
    assert steps_of(app, dispatched.dispatch)["next_candidate"][1] <= utcnow()


def test_an_answered_call_is_delivered_and_the_timers_keep_their_time(app, twilio,
                                                                      dispatched):
    mark_sent(app, dispatched.dispatch, "voice", CALL_SID)
    before = steps_of(app, dispatched.dispatch)
    assert call_status(twilio, "completed").status_code == 204
    assert message(app, CALL_SID).status == "delivered"
    assert steps_of(app, dispatched.dispatch) == before


def test_a_failure_after_the_offer_was_accepted_changes_no_timer(app, twilio, dispatched):
    mark_sent(app, dispatched.dispatch, "sms", SMS_SID)
    with app.app_context():
        accept(dispatched.dispatch, ActingTechnician(technician_id=dispatched.technician,
                                                     email="tech (SMS link)"))
    before = steps_of(app, dispatched.dispatch)
    events = snapshot(app)[0]["IncidentEvent"]
    sms_status(twilio, "undelivered")
    assert message(app, SMS_SID).status == "undelivered"
    assert steps_of(app, dispatched.dispatch) == before
    assert snapshot(app)[0]["IncidentEvent"] == events
    assert last_event(app, dispatched.incident).kind != "dispatch"


def test_a_late_failure_of_an_older_attempt_does_not_skip_the_newer_one(app, twilio,
                                                                        dispatched):
    mark_sent(app, dispatched.dispatch, "sms", SMS_SID)
    mark_sent(app, dispatched.dispatch, "voice", CALL_SID)  # the call is under way
    before = steps_of(app, dispatched.dispatch)
    sms_status(twilio, "undelivered")
    assert message(app, SMS_SID).status == "undelivered"
    assert steps_of(app, dispatched.dispatch) == before
    with app.app_context():
        assert db.session.get(Dispatch, dispatched.dispatch).state == "offered"


def test_an_unknown_sid_is_answered_204_and_changes_nothing(app, twilio, dispatched):
    mark_sent(app, dispatched.dispatch, "sms", SMS_SID)
    counts, *states = snapshot(app)
    assert sms_status(twilio, "failed", sid="SM" + "f" * 32).status_code == 204
    assert call_status(twilio, "no-answer", sid="CA" + "f" * 32).status_code == 204
    assert snapshot(app)[1:] == tuple(states)
    assert len(offer_messages(app, dispatched.dispatch, "sms")) == 1


def test_a_call_sid_sent_to_the_sms_callback_is_not_matched(app, twilio, dispatched):
    mark_sent(app, dispatched.dispatch, "voice", CALL_SID)
    sms_status(twilio, "failed", sid=CALL_SID)
    assert message(app, CALL_SID).status == "sent"
