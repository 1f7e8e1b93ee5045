"""In Chromium: the screen pop while the desk number rings, and the board updating only the
card that changed, without reloading the page.

The incoming call is a real signed Twilio webhook posted to the live server; the pop and the
board poll at one-second intervals here (SCREEN_POP_SECONDS, LIVE_LIST_SECONDS). A marker
set on `window` proves that the page was never reloaded.
"""

import urllib.parse
import urllib.request
from datetime import datetime

import pytest
from sqlalchemy import update
from twilio.request_validator import RequestValidator

from app.extensions import db
from app.models import Incident, User
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories
from tests.system.browser.helpers import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = pytest.mark.browser

TOKEN = "browser-twilio-token"
CALLER = "+81355550123"  # 03-5555-0123, registered by the SME
CALL_SID = "CA" + "4" * 32
ALWAYS = (datetime(2020, 1, 1), datetime(2099, 12, 31))


@pytest.fixture
def fast_and_signed(app, monkeypatch):
    for key, value in {"TWILIO_AUTH_TOKEN": TOKEN, "DESK_PHONE_NUMBER": "",
                       "SCREEN_POP_SECONDS": 1, "LIVE_LIST_SECONDS": 1}.items():
        monkeypatch.setitem(app.config, key, value)


def post_signed(app, live_server, path, form):
    """POST `form` to the live server signed as Twilio signs it (over the public URL)."""
    signature = RequestValidator(TOKEN).compute_signature(
        app.config["PUBLIC_BASE_URL"] + path, form)
    request = urllib.request.Request(
        live_server + path, data=urllib.parse.urlencode(form).encode(),
        headers={"X-Twilio-Signature": signature,
                 "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


@pytest.fixture
def caller(app):
    """An SME with a contract, its registered number and one open incident; a desk user."""
    with app.app_context():
        org = factories.make_organization(name="丁電機", phone=CALLER)
        incident = factories.make_incident(org, summary="メールの添付を開いてしまった")
        values = {"org": org.name, "incident_id": incident.id, "reference": incident.reference,
                  "desk": factories.make_user("desk").email}
        db.session.remove()
    return values


def test_the_screen_pop_shows_the_caller_while_the_call_rings(app, page, live_server,
                                                              fast_and_signed, caller):
    log_in(page, caller["desk"], r"/desk/$")
    page.evaluate("window.__notReloaded = true")
    pop = page.locator("#screen-pop")
    expect(pop).to_be_hidden()

    assert post_signed(app, live_server, "/webhooks/twilio/voice/incoming", {
        "CallSid": CALL_SID, "From": CALLER, "To": "+815000000000",
        "Direction": "inbound", "CallStatus": "ringing"}) == 200

    expect(pop).to_be_visible()
    expect(pop.locator("h2")).to_contain_text(CALLER)
    expect(pop.locator("p.org")).to_contain_text(caller["org"])
    expect(pop.locator("p.contract")).to_contain_text("駆付けあり")
    link = pop.get_by_role("link", name=caller["reference"], exact=True)
    expect(link).to_have_attribute("href", f"/desk/incidents/{caller['incident_id']}")

    assert post_signed(app, live_server, "/webhooks/twilio/voice/incoming/status", {
        "CallSid": CALL_SID, "CallStatus": "completed", "CallDuration": "65"}) == 204
    expect(pop).to_be_hidden()
    assert page.evaluate("window.__notReloaded") is True


def test_an_unknown_caller_pops_as_an_unknown_number(app, page, live_server,
                                                     fast_and_signed, caller):
    log_in(page, caller["desk"], r"/desk/$")
    post_signed(app, live_server, "/webhooks/twilio/voice/incoming", {
        "CallSid": CALL_SID, "From": "+819088887777", "To": "+815000000000",
        "Direction": "inbound", "CallStatus": "ringing"})
    pop = page.locator("#screen-pop")
    expect(pop.locator("p.unknown")).to_have_text("不明な番号")
    expect(pop.locator("h2")).to_contain_text("+819088887777")
    post_signed(app, live_server, "/webhooks/twilio/voice/incoming/status", {
        "CallSid": CALL_SID, "CallStatus": "no-answer"})
    expect(pop).to_be_hidden()


@pytest.fixture
def board(app):
    """Two incidents offered to a technician on call, and a dispatcher."""
    with app.app_context():
        org = factories.make_organization(name="戊商店")
        factories.make_technician(on_call=ALWAYS)
        dispatcher = factories.make_user("dispatcher")
        incidents = [factories.make_incident(org, state="triaging", summary=summary)
                     for summary in ("一件目の相談", "二件目の相談")]
        for incident in incidents:
            fire_trigger(incident.id, "request_dispatch", db.session.get(User, dispatcher.id))
        values = {"dispatcher": dispatcher.email,
                  "ids": [i.id for i in incidents], "refs": [i.reference for i in incidents]}
        db.session.remove()
    return values


def test_the_board_updates_only_the_card_that_changed(app, page, fast_and_signed, board):
    log_in(page, board["dispatcher"], r"/dispatch/$")
    first, second = (page.locator(f'article.board-row[data-reference="{ref}"]')
                     for ref in board["refs"])
    expect(second.locator("p.summary")).to_have_text("二件目の相談")
    page.evaluate("window.__notReloaded = true")
    # A mark on each card's element: a card replaced by the update loses it.
    first.evaluate("card => { card.__same = true }")
    second.evaluate("card => { card.__same = true }")

    with app.app_context():  # the desk corrects the second incident's summary meanwhile
        db.session.execute(update(Incident).where(Incident.id == board["ids"][1])
                           .values(summary="二件目: ランサムウェアと判明"))
        db.session.commit()
        db.session.remove()

    expect(second.locator("p.summary")).to_have_text("二件目: ランサムウェアと判明")
    assert second.evaluate("card => card.__same === undefined")  # this card was replaced
    assert first.evaluate("card => card.__same === true")  # the unchanged one was not
    assert page.evaluate("window.__notReloaded") is True


def test_a_card_being_typed_into_is_not_replaced(app, page, fast_and_signed, board):
    log_in(page, board["dispatcher"], r"/dispatch/$")
    card = page.locator(f'article.board-row[data-reference="{board["refs"][0]}"]')
    reason = card.locator("form.cancel-form input[name=reason]")
    reason.fill("途中まで入力")
    with app.app_context():
        db.session.execute(update(Incident).where(Incident.id == board["ids"][0])
                           .values(summary="変更された要約"))
        db.session.commit()
        db.session.remove()
    other = page.locator(f'article.board-row[data-reference="{board["refs"][1]}"]')
    page.wait_for_function(  # two rounds of the update have run meanwhile
        "() => Number(document.getElementById('board-cards').dataset.liveRounds || 0) >= 2")
    expect(reason).to_have_value("途中まで入力")
    expect(card.locator("p.summary")).to_have_text("一件目の相談")
    expect(other).to_be_visible()


def test_the_desk_list_shows_a_new_incident_without_a_reload(app, page, fast_and_signed,
                                                             caller):
    log_in(page, caller["desk"], r"/desk/$")
    rows = page.locator("#incident-rows tr[data-reference]")
    expect(rows).to_have_count(1)
    page.evaluate("window.__notReloaded = true")
    with app.app_context():
        org = factories.make_organization(name="己建設")
        reference = factories.make_incident(org, summary="新しい相談").reference
        db.session.remove()
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-reference", reference)  # newest first
    assert page.evaluate("window.__notReloaded") is True
