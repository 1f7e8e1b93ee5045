"""A message read out on a call placed instead of an SMS (the reporter's number is a landline):
only to the number it was for, only for such a message."""

from app.extensions import db
from app.models import Notification
from notifications.outbox import enqueue, enqueue_sms
from tests.web.webhooks.helpers import spoken, twiml

LANDLINE = "+81312345678"
CONTEXT = {"reference": "INC-2026-000123", "organization": "甲商事", "technician": "技術者1",
           "company": "テストサポート", "time": "10:05"}


def queued(app, phone=LANDLINE, locale="ja"):
    with app.app_context():
        not_texted = enqueue_sms(phone, "customer_en_route", CONTEXT, dedupe_key="t:1:sms",
                                 whose="reporter", speak=True, locale=locale)
        assert not_texted.instead == "voice"
        db.session.commit()
        message = db.session.query(Notification).one()
        values = message.id, message.context["twiml_path"]
        db.session.remove()
    return values


def test_the_call_reads_the_message_twice_in_japanese(app, twilio, world):
    message_id, path = queued(app)
    assert path == f"/webhooks/twilio/voice/message/{message_id}"
    document = twiml(twilio(path, {"CallSid": "CA" + "3" * 32, "To": LANDLINE,
                                   "CallStatus": "in-progress"}))
    says = document.findall("Say")
    assert len(says) == 2 and says[0].get("language") == "ja-JP"
    assert "0、0、0、1、2、3" in says[0].text and "出発しました" in says[0].text
    assert document.find("Hangup") is not None


def test_in_english_for_an_english_reporter(app, twilio, world):
    _id, path = queued(app, locale="en")
    document = twiml(twilio(path, {"CallSid": "CA" + "3" * 32, "To": LANDLINE}))
    assert document.find("Say").get("language") == "en-US"
    assert "left at 10:05" in spoken(document)


def test_another_number_hears_nothing(app, twilio, world):
    _id, path = queued(app)
    document = twiml(twilio(path, {"CallSid": "CA" + "3" * 32, "To": "+81399998888"}))
    assert document.findall("Say") == [] and document.find("Hangup") is not None


def test_a_message_that_is_not_read_out_is_not_read(app, twilio, world):
    with app.app_context():
        sms = enqueue("sms", "+819012345678", "customer_en_route", CONTEXT, dedupe_key="t:2")
        db.session.commit()
        sms_id = sms.id
        db.session.remove()
    for path in (f"/webhooks/twilio/voice/message/{sms_id}", "/webhooks/twilio/voice/message/999"):
        document = twiml(twilio(path, {"CallSid": "CA" + "3" * 32, "To": "+819012345678"}))
        assert document.findall("Say") == []


def test_an_unsigned_request_is_refused(app, twilio, world):
    _id, path = queued(app)
    assert twilio(path, {"To": LANDLINE}, signature="forged").status_code == 403
