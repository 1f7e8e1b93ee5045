"""Every Twilio webhook checks X-Twilio-Signature first and refuses replays."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote_plus, urlencode

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app.extensions import db
from app.models import Dispatch, Incident
from tests.web.webhooks.helpers import TOKEN, call_params, refused_unchanged, sign

ENDPOINTS = ["/webhooks/twilio/voice/offer/1", "/webhooks/twilio/voice/offer/1/answer",
             "/webhooks/twilio/status/sms", "/webhooks/twilio/status/voice",
             "/webhooks/twilio/voice/incoming", "/webhooks/twilio/voice/incoming/dialled",
             "/webhooks/twilio/voice/incoming/recorded", "/webhooks/twilio/recording/1",
             "/webhooks/twilio/recording/unregistered"]


def answer(dispatched, digits="1"):
    path = f"/webhooks/twilio/voice/offer/{dispatched.dispatch}/answer"
    return path, call_params(dispatched.phone, Digits=digits)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_refuses_a_request_without_a_signature(app, twilio, world, path):
    response = refused_unchanged(app, lambda: twilio(path, {"From": "+81312345678"},
                                                     signature=""))
    assert "missing" in response.text


def test_a_forged_signature_is_refused_and_the_offer_stays_open(app, twilio, dispatched):
    path, data = answer(dispatched)
    response = refused_unchanged(app, lambda: twilio(path, data,
                                                     signature="bm90IGEgc2lnbmF0dXJl"))
    assert "does not match" in response.text


def test_a_signature_made_with_another_token_is_refused(app, twilio, dispatched):
    path, data = answer(dispatched)
    refused_unchanged(app, lambda: twilio(path, data, token="someone-elses-token"))


def test_changing_a_signed_parameter_breaks_the_signature(app, twilio, dispatched):
    path, data = answer(dispatched, digits="2")
    signature = sign(app, path, data)
    refused_unchanged(app, lambda: twilio(path, data | {"Digits": "1"}, signature=signature))


def test_the_signature_covers_the_public_url_not_the_one_behind_the_proxy(app, twilio,
                                                                          dispatched):
    path, data = answer(dispatched)
    behind_proxy = RequestValidator(TOKEN).compute_signature("http://localhost" + path, data)
    refused_unchanged(app, lambda: twilio(path, data, signature=behind_proxy))
    assert twilio(path, data).status_code == 200  # signed for PUBLIC_BASE_URL + path


def test_with_no_auth_token_configured_every_webhook_is_refused(app, twilio, dispatched,
                                                                config_override):
    config_override(TWILIO_AUTH_TOKEN="")
    path, data = answer(dispatched)
    response = refused_unchanged(app, lambda: twilio(path, data, token=""))
    assert "no auth token" in response.text


def test_a_replayed_keypress_is_refused_and_changes_nothing(app, twilio, dispatched):
    path, data = answer(dispatched, digits="2")  # a decline offers the next technician
    assert twilio(path, data).status_code == 200
    refused_unchanged(app, lambda: twilio(path, data), status=409)
    with app.app_context():
        assert db.session.get(Dispatch, dispatched.dispatch).state == "declined"


def test_a_replayed_incoming_call_creates_no_second_incident(app, twilio, world):
    data = {"CallSid": "CA" + "9" * 32, "From": "+81312345678", "To": "+81500000000"}
    assert twilio("/webhooks/twilio/voice/incoming", data).status_code == 200
    refused_unchanged(app, lambda: twilio("/webhooks/twilio/voice/incoming", data), status=409)


def test_a_request_whose_effect_was_refused_is_still_recorded_as_seen(app, twilio, dispatched):
    path, data = answer(dispatched, digits="7")  # not 1 or 2: nothing recorded, asked again
    assert twilio(path, data).status_code == 200
    refused_unchanged(app, lambda: twilio(path, data), status=409)


def test_a_replayed_recording_callback_adds_no_second_note(app, twilio, world):
    twilio("/webhooks/twilio/voice/incoming", {"CallSid": "CA1", "From": "+81312345678"})
    data = {"RecordingSid": "RE1", "RecordingDuration": "5", "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"}
    assert twilio("/webhooks/twilio/recording/1", data).status_code == 204
    refused_unchanged(app, lambda: twilio("/webhooks/twilio/recording/1", data), status=409)


# Copies of a signed request that Twilio's validator still accepts: a parameter sent
# again, or an empty pair. The signature covers distinct (name, value) pairs only.
BYPASSES = {"from_again": "&From={From}", "sid_again": "&{sid}={sid_value}", "empty_pair": "&=",
            "both": "&=&From={From}&{sid}={sid_value}"}


def raw_copy(client, app, path, data, extra, sid):
    """Post the signed form body of `data` with `extra` appended, under data's signature."""
    quoted = {name: quote_plus(value) for name, value in data.items()}
    body = urlencode(data) + extra.format(sid=sid, sid_value=quoted[sid], **quoted)
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded",
                       headers={"X-Twilio-Signature": sign(app, path, data)})


@pytest.mark.parametrize("extra", BYPASSES.values(), ids=BYPASSES.keys())
def test_a_signed_call_replayed_with_repeated_or_empty_pairs_makes_no_second_incident(
        app, client, twilio, world, extra):
    path = "/webhooks/twilio/voice/incoming"
    data = {"CallSid": "CA" + "7" * 32, "From": "+81312345678", "To": "+81500000000"}
    assert twilio(path, data).status_code == 200
    refused_unchanged(app, lambda: raw_copy(client, app, path, data, extra, "CallSid"),
                      status=409)


@pytest.mark.parametrize("extra", BYPASSES.values(), ids=BYPASSES.keys())
def test_a_recording_callback_replayed_with_repeated_or_empty_pairs_adds_no_second_note(
        app, client, twilio, world, extra):
    twilio("/webhooks/twilio/voice/incoming", {"CallSid": "CA1", "From": "+81312345678"})
    path = "/webhooks/twilio/recording/1"
    data = {"RecordingSid": "RE1", "From": "+81312345678", "RecordingDuration": "5",
            "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"}
    assert twilio(path, data).status_code == 204
    refused_unchanged(app, lambda: raw_copy(client, app, path, data, extra, "RecordingSid"),
                      status=409)


def test_a_copy_with_its_pairs_in_another_order_is_the_same_request(app, client, twilio, world):
    path = "/webhooks/twilio/voice/incoming"
    data = {"CallSid": "CA" + "8" * 32, "From": "+81312345678", "To": "+81500000000"}
    assert twilio(path, data).status_code == 200
    reordered = dict(reversed(list(data.items())))
    refused_unchanged(app, lambda: raw_copy(client, app, path, reordered, "", "CallSid"),
                      status=409)


def test_ten_copies_of_one_call_arriving_together_make_one_incident(app, world):
    path = "/webhooks/twilio/voice/incoming"
    data = {"CallSid": "CA" + "5" * 32, "From": "+81312345678", "To": "+81500000000"}
    headers = {"X-Twilio-Signature": sign(app, path, data)}
    barrier = threading.Barrier(10)

    def send(_):
        client = app.test_client()
        barrier.wait()
        return client.post(path, data=data, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(send, range(10)))
    assert sorted(statuses) == [200] + [409] * 9, statuses
    with app.app_context():
        assert db.session.scalar(select(func.count(Incident.id))) == 1
