"""Calls to the desk number: intake by caller ID, the reference read out, desk or voicemail."""

from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from app.extensions import db
from app.models import Incident, Notification, User
from tests.web.webhooks.helpers import refused_unchanged, snapshot, spoken, twiml

CUSTOMER = "+81312345678"  # org A's registered number (03-1234-5678)
STRANGER = "+819011112222"
DESK_PHONE = "+81366660000"
RECORDING_URL = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "1" * 32


def incoming(twilio, caller):
    return twilio("/webhooks/twilio/voice/incoming",
                  {"CallSid": "CA" + "7" * 32, "From": caller, "To": "+81500000000",
                   "Direction": "inbound", "CallStatus": "ringing"})


def only_incident(app):
    with app.app_context():
        incident = db.session.scalars(select(Incident)).one()
        db.session.expunge_all()
        return incident


def path_and_query(url):
    parts = urlparse(url)
    return parts.path, parse_qs(parts.query)


def recording_params(**extra):
    return {"RecordingSid": "RE" + "1" * 32, "RecordingUrl": RECORDING_URL,
            "RecordingDuration": "42", "RecordingStatus": "completed",
            "CallSid": "CA" + "7" * 32} | extra


def test_a_registered_caller_gets_an_incident_its_reference_and_the_desk(app, twilio, world,
                                                                         config_override):
    config_override(DESK_PHONE_NUMBER=DESK_PHONE)
    document = twiml(incoming(twilio, CUSTOMER))
    incident = only_incident(app)
    assert (incident.organization_id, incident.channel, incident.state) == (
        world.org_a, "phone", "received")
    assert (incident.category, incident.severity, incident.discovery_source) == (
        "other", "medium", "user")
    assert (incident.summary, incident.reporter_phone) == (f"電話での相談 ({CUSTOMER})", CUSTOMER)
    say = document.find("Say")
    assert say.get("language") == "ja-JP"
    year, number = incident.reference.split("-")[1:]
    digits = "、".join(year) + "の、" + "、".join(number)
    assert f"受付番号は、{digits}です" in say.text  # e.g. 2、0、2、6の、0、0、0、0、0、1
    assert "甲商事様" in say.text
    dial = document.find("Dial")
    assert dial.text == DESK_PHONE and dial.get("timeout") == "20"
    assert path_and_query(dial.get("action")) == (
        "/webhooks/twilio/voice/incoming/dialled", {"incident": [str(incident.id)]})


def test_the_intake_is_on_the_timeline_as_the_phone_line(app, twilio, world):
    incoming(twilio, "03-1234-5678")  # numbers match however they are written
    with app.app_context():
        event = db.session.scalars(select(Incident)).one().events[0]
        assert (event.kind, event.actor_label, event.actor_id) == ("intake", "phone line", None)


def test_without_a_desk_phone_the_caller_leaves_a_message_for_the_incident(app, twilio,
                                                                            world):
    document = twiml(incoming(twilio, CUSTOMER))
    incident = only_incident(app)
    assert document.find("Dial") is None
    assert "発信音のあとに" in spoken(document)
    record = document.find("Record")
    assert record.get("recordingStatusCallback") == app.config["PUBLIC_BASE_URL"] + \
        f"/webhooks/twilio/recording/{incident.id}"
    assert record.get("finishOnKey") == "#"
    assert path_and_query(record.get("action"))[0] == "/webhooks/twilio/voice/incoming/recorded"


def test_an_unregistered_caller_is_answered_politely_and_no_incident_is_made(app, twilio,
                                                                              world,
                                                                              config_override):
    config_override(DESK_PHONE_NUMBER=DESK_PHONE)
    before = snapshot(app)
    document = twiml(incoming(twilio, STRANGER))
    assert "登録されていません" in spoken(document)
    assert document.find("Say").get("language") == "ja-JP"
    assert document.find("Dial").text == DESK_PHONE
    assert path_and_query(document.find("Dial").get("action"))[1] == {"caller": [STRANGER]}
    assert snapshot(app)[0]["Incident"] == before[0]["Incident"]


def test_an_unregistered_caller_with_no_desk_phone_records_for_the_desk(app, twilio, world):
    document = twiml(incoming(twilio, STRANGER))
    assert "発信音のあとに、会社名とお名前、折り返しのお電話番号" in spoken(document)
    callback = document.find("Record").get("recordingStatusCallback")
    assert path_and_query(callback) == ("/webhooks/twilio/recording/unregistered",
                                        {"caller": [STRANGER]})


def test_a_withheld_number_is_told_why_its_contract_was_not_found(app, twilio, world):
    for withheld in ("anonymous", "+266696687"):
        document = twiml(incoming(twilio, withheld))
        assert "電話番号が通知されていない" in spoken(document)
        assert document.find("Record").get("recordingStatusCallback").endswith(
            "/webhooks/twilio/recording/unregistered?caller=")
    assert snapshot(app)[0]["Incident"] == 0


def test_an_unanswered_desk_phone_lets_the_caller_leave_a_message(app, twilio, world):
    document = twiml(twilio("/webhooks/twilio/voice/incoming/dialled?incident=5",
                            {"DialCallStatus": "no-answer", "CallSid": "CA" + "7" * 32}))
    assert "担当者が電話に出られません" in spoken(document)
    assert document.find("Record").get("recordingStatusCallback").endswith(
        "/webhooks/twilio/recording/5")


def test_an_answered_desk_phone_ends_the_call_when_the_desk_hangs_up(app, twilio, world):
    document = twiml(twilio("/webhooks/twilio/voice/incoming/dialled?incident=5",
                            {"DialCallStatus": "completed"}))
    assert [verb.tag for verb in document] == ["Hangup"]


def test_the_caller_is_thanked_after_the_message(twilio, world):
    document = twiml(twilio("/webhooks/twilio/voice/incoming/recorded",
                            {"RecordingUrl": RECORDING_URL}))
    assert "折り返しご連絡します" in spoken(document)
    assert document.find("Hangup") is not None


def test_the_recording_link_is_added_to_the_incident_timeline(app, twilio, world):
    incoming(twilio, CUSTOMER)
    incident = only_incident(app)
    response = twilio(f"/webhooks/twilio/recording/{incident.id}", recording_params())
    assert response.status_code == 204
    with app.app_context():
        event = db.session.get(Incident, incident.id).events[-1]
        assert (event.kind, event.actor_label) == ("note", "phone line")
        assert RECORDING_URL in event.note and "42秒" in event.note
        assert event.data["recording_sid"] == "RE" + "1" * 32


def test_a_recording_with_a_link_that_is_not_https_is_refused(app, twilio, world):
    incoming(twilio, CUSTOMER)
    incident = only_incident(app)
    refused_unchanged(app, lambda: twilio(f"/webhooks/twilio/recording/{incident.id}",
                                          recording_params(RecordingUrl="javascript:alert(1)")),
                      status=422)


def test_an_absent_recording_adds_nothing(app, twilio, world):
    incoming(twilio, CUSTOMER)
    incident = only_incident(app)
    events = snapshot(app)[0]["IncidentEvent"]
    twilio(f"/webhooks/twilio/recording/{incident.id}",
           recording_params(RecordingStatus="absent", RecordingDuration="0"))
    assert snapshot(app)[0]["IncidentEvent"] == events


def test_a_message_from_an_unregistered_caller_is_e_mailed_to_the_desk(app, twilio, world):
    path = "/webhooks/twilio/recording/unregistered?caller=%2B819011112222"
    assert twilio(path, recording_params()).status_code == 204
    with app.app_context():
        desk_email = db.session.get(User, world.users["desk"]).email
        mail = db.session.scalars(select(Notification)).one()
        assert (mail.channel, mail.recipient, mail.template) == ("email", desk_email,
                                                                 "voicemail")
        assert STRANGER in mail.subject and RECORDING_URL in mail.body
        assert mail.incident_id is None
