"""The offer by voice call: read in Japanese, answered by keypress, confirmed by voice."""

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from sqlalchemy import select

from app.extensions import db
from app.models import Dispatch, Incident, Technician, User
from app.services.actors import ActingTechnician
from app.services.dispatch import voice
from app.services.dispatch.visits import accept, fire, reoffer
from tests.web.webhooks.helpers import call_params, sign, snapshot, spoken, twiml


def offer_path(dispatched):
    return f"/webhooks/twilio/voice/offer/{dispatched.dispatch}"


def press(twilio, dispatched, digits, to=None, query=""):
    return twilio(offer_path(dispatched) + "/answer" + query,
                  call_params(to or dispatched.phone, Digits=digits))


def dispatch_row(app, dispatch_id):
    with app.app_context():
        dispatch = db.session.get(Dispatch, dispatch_id)
        db.session.expunge_all()
        return dispatch


def test_the_call_reads_the_offer_in_japanese_and_gathers_one_digit(app, twilio, dispatched):
    document = twiml(twilio(offer_path(dispatched), call_params(dispatched.phone)))
    gather = document.find("Gather")
    assert gather.get("numDigits") == "1"
    assert (gather.get("method"), gather.get("timeout")) == ("POST", "10")
    assert gather.get("action") == app.config["PUBLIC_BASE_URL"] + offer_path(dispatched) \
        + "/answer"
    say = gather.find("Say")
    assert say.get("language") == "ja-JP" and say.get("voice")
    assert dispatched.organization in say.text
    assert "1を" in say.text and "2を" in say.text
    after_gather = list(document)[1:]  # no key pressed: goodbye
    assert [verb.tag for verb in after_gather] == ["Say", "Hangup"]
    assert after_gather[0].get("language") == "ja-JP"


def test_an_english_speaking_technician_hears_the_offer_in_english(app, twilio, dispatched):
    with app.app_context():
        db.session.get(Technician, dispatched.technician).locale = "en"
        db.session.commit()
    say = twiml(twilio(offer_path(dispatched), call_params(dispatched.phone))).find(
        "Gather/Say")
    assert say.get("language") == "en-US"
    assert "Press 1 to accept" in say.text


def test_a_call_to_another_number_hears_nothing_about_the_incident(app, twilio, dispatched):
    document = twiml(twilio(offer_path(dispatched), call_params("+819099999999")))
    assert document.find("Gather") is None
    assert dispatched.organization not in spoken(document)
    assert "応答できません" in spoken(document)
    assert document.find("Hangup") is not None


def test_pressing_1_accepts_and_the_incident_gets_its_technician(app, twilio, dispatched):
    document = twiml(press(twilio, dispatched, "1"))
    assert "受諾を記録しました" in spoken(document)
    assert document.find("Say").get("language") == "ja-JP"
    assert document.find("Hangup") is not None
    with app.app_context():
        dispatch = db.session.get(Dispatch, dispatched.dispatch)
        incident = db.session.get(Incident, dispatched.incident)
        assert dispatch.state == "accepted"
        assert (incident.state, incident.assigned_technician_id) == (
            "technician_assigned", dispatched.technician)
        event = incident.events[-1]
        assert (event.trigger, event.data["via"], event.note) == (
            "assign_technician", "voice", "")
        assert event.actor_label == f"{dispatch.technician.name} (voice)"


def test_pressing_2_declines_and_the_next_technician_gets_the_offer(app, twilio, world,
                                                                     dispatched):
    document = twiml(press(twilio, dispatched, "2"))
    assert "辞退を記録しました" in spoken(document)
    with app.app_context():
        declined = db.session.get(Dispatch, dispatched.dispatch)
        assert (declined.state, declined.decline_reason) == ("declined", "declined by phone")
        following = db.session.scalars(select(Dispatch).filter_by(
            incident_id=dispatched.incident, state="offered")).one()
        assert following.technician_id == world.other_technician
        assert db.session.get(Incident, dispatched.incident).state == "dispatch_requested"


def test_a_keypress_from_another_number_is_refused(app, twilio, dispatched):
    before = snapshot(app)
    document = twiml(press(twilio, dispatched, "1", to="+819099999999"))
    assert "応答できません" in spoken(document)
    assert dispatched.organization not in spoken(document)
    counts, *states = snapshot(app)
    assert states == list(before[1:])  # only the request's receipt was written
    assert dispatch_row(app, dispatched.dispatch).state == "offered"


def test_another_key_asks_again_on_a_url_of_its_own(app, twilio, dispatched):
    before = snapshot(app)
    document = twiml(press(twilio, dispatched, "9"))
    gather = document.find("Gather")
    assert "受け付けられません" in gather.find("Say").text
    assert "1を" in gather.findall("Say")[1].text  # then the offer once more
    assert urlparse(gather.get("action")).query == "attempt=2"  # a second 9 is no replay
    assert snapshot(app)[1:] == before[1:]
    again = twiml(press(twilio, dispatched, "9", query="?attempt=2"))
    assert urlparse(again.find("Gather").get("action")).query == "attempt=3"
    last = twiml(press(twilio, dispatched, "9", query="?attempt=3"))
    assert last.find("Gather") is None and last.find("Hangup") is not None
    assert dispatch_row(app, dispatched.dispatch).state == "offered"


def test_a_keypress_on_an_offer_someone_else_took_hears_it_is_taken(app, twilio, world,
                                                                     dispatched):
    with app.app_context():
        dispatcher = db.session.get(User, world.users["dispatcher"])
        second = reoffer(dispatched.incident, dispatcher)  # the other technician is asked too
        accept(second.id, ActingTechnician(technician_id=second.technician_id, email="other"))
    before = snapshot(app)
    document = twiml(press(twilio, dispatched, "1"))
    assert "別の技術者が受諾しました" in spoken(document)
    assert snapshot(app)[1:] == before[1:]
    with app.app_context():
        assert db.session.get(Incident, dispatched.incident).assigned_technician_id == \
            world.other_technician


def test_a_keypress_after_accepting_by_sms_link_says_it_is_already_yours(app, twilio,
                                                                         dispatched):
    with app.app_context():
        accept(dispatched.dispatch, ActingTechnician(technician_id=dispatched.technician,
                                                     email="tech (SMS link)"))
    document = twiml(press(twilio, dispatched, "2"))
    assert "すでにあなたが受諾" in spoken(document)
    assert dispatch_row(app, dispatched.dispatch).state == "accepted"


def test_a_call_about_a_closed_offer_says_so_and_hangs_up(app, twilio, world, dispatched):
    with app.app_context():
        dispatch = db.session.get(Dispatch, dispatched.dispatch)
        dispatch.state, dispatch.cancel_reason = "cancelled", "dispatcher override"
        db.session.commit()
    document = twiml(twilio(offer_path(dispatched), call_params(dispatched.phone)))
    assert document.find("Gather") is None
    assert "受付は終了しました" in spoken(document)
    assert document.find("Hangup") is not None


def test_a_call_about_an_unknown_dispatch_says_the_offer_is_closed(twilio, world):
    document = twiml(twilio("/webhooks/twilio/voice/offer/999", call_params("+819000000001")))
    assert "受付は終了しました" in spoken(document)


def test_an_accept_that_loses_the_race_hears_the_offer_is_taken(app, twilio, world, dispatched,
                                                                 monkeypatch):
    def other_technician_first(dispatch_id, trigger, actor, **kwargs):
        dispatcher = db.session.get(User, world.users["dispatcher"])
        second = reoffer(dispatched.incident, dispatcher)
        accept(second.id, ActingTechnician(technician_id=second.technician_id, email="other"))
        return fire(dispatch_id, trigger, actor, **kwargs)  # raises OfferClosed now

    monkeypatch.setattr(voice, "fire", other_technician_first)
    document = twiml(press(twilio, dispatched, "1"))
    assert "別の技術者が受諾しました" in spoken(document)
    with app.app_context():
        incident = db.session.get(Incident, dispatched.incident)
        assert incident.assigned_technician_id == world.other_technician
        assert db.session.get(Dispatch, dispatched.dispatch).state == "cancelled"


def test_two_technicians_pressing_1_at_once_one_wins_the_other_hears_it_is_taken(
        app, world, dispatched):
    with app.app_context():
        second = reoffer(dispatched.incident, db.session.get(User, world.users["dispatcher"]))
        offers = [(dispatched.dispatch, dispatched.phone), (second.id, second.technician.phone)]
    barrier = threading.Barrier(len(offers))

    def press_on(offer):
        dispatch_id, phone = offer
        path = f"/webhooks/twilio/voice/offer/{dispatch_id}/answer"
        data = call_params(phone, Digits="1", CallSid=f"CA{dispatch_id:032d}")
        client = app.test_client()
        barrier.wait()
        return spoken(twiml(client.post(path, data=data,
                                        headers={"X-Twilio-Signature": sign(app, path, data)})))

    with ThreadPoolExecutor(max_workers=len(offers)) as pool:
        said = list(pool.map(press_on, offers))
    assert sum("受諾を記録しました" in text for text in said) == 1, said
    assert sum("別の技術者が受諾しました" in text for text in said) == 1, said
    with app.app_context():
        states = sorted(d.state for d in db.session.scalars(select(Dispatch)))
        assert states == ["accepted", "cancelled"]
        assert db.session.get(Incident, dispatched.incident).state == "technician_assigned"
