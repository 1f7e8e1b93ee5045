"""End to end in Chromium: the dispatcher dispatches, the technician answers from a phone.

Two browser contexts: the dispatcher's desk (`page`) and the technician's phone
(`phone`, a separate context with its own cookies). The accept link is taken from the
development phone page, as a newcomer playing the whole flow on one machine would.
"""

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Dispatch, Incident
from app.testkit import factories
from notifications.worker import run as run_worker
from tests.system.browser.conftest import watched_tab

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = pytest.mark.browser

ALWAYS = (datetime(2020, 1, 1), datetime(2099, 12, 31))
WORK_REPORT = "感染端末をネットワークから隔離し、ログを保全。駆除と復旧手順を説明した。"


@pytest.fixture
def scene(app):
    """A triaged incident at a Tokyo SME, two technicians on call, a dispatcher: plain values."""
    with app.app_context():
        org = factories.make_organization(name="丙製作所", prefecture=13)
        first = factories.make_technician(on_call=ALWAYS)  # the best candidate
        second = factories.make_technician(on_call=ALWAYS)  # the dispatcher's choice
        incident = factories.make_incident(org, state="triaging", category="ransomware",
                                           severity="high", summary="全社の共有フォルダが暗号化",
                                           reporter_phone="+819012345678")
        values = {
            "incident_id": incident.id, "reference": incident.reference,
            "first": first.name, "second": second.name, "second_id": second.id,
            "second_phone": second.phone,
            "dispatcher": factories.make_user("dispatcher").email,
            "technician": factories.make_user("technician", technician=second).email,
        }
        db.session.remove()
    return values


@pytest.fixture
def phone(browser, live_server):
    """The technician's phone: its own browser context, no cookies shared with the desk."""
    with watched_tab(browser, live_server, viewport={"width": 390, "height": 844},
                     is_mobile=True) as tab:
        yield tab


def log_in(tab, email, landing):
    """Fill the login form on the page shown; expect to land on `landing`."""
    form = tab.locator("#login-form")
    form.locator("#email").fill(email)
    form.locator("#password").fill(factories.PASSWORD)
    form.locator("button[type=submit]").click()
    expect(tab).to_have_url(re.compile(landing))


def board_row(page, reference):
    """The incident's card on the board (reloaded, without the automatic refresh)."""
    page.goto("/dispatch/?refresh=off")
    return page.locator(f"article.board-row[data-reference={reference}]")


def expect_board_state(page, reference, incident_state, dispatch_state, technician):
    row = board_row(page, reference)
    expect(row).to_have_attribute("data-state", incident_state)
    live = row.locator(f"li[data-dispatch-state={dispatch_state}]")
    expect(live.locator(".tech")).to_have_text(technician)


def send_queued_messages(app):
    """Run the worker once in-process (console provider: sent means listed as sent)."""
    with app.app_context():
        run_worker(once=True)
        db.session.remove()


def stored(app, incident_id):
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        dispatches = db.session.scalars(select(Dispatch).where(
            Dispatch.incident_id == incident_id).order_by(Dispatch.id)).all()
        values = {
            "state": incident.state,
            "dispatches": [(d.technician.name, d.state) for d in dispatches],
            "visit": (dispatches[-1].work_report, dispatches[-1].signoff_name,
                      all((dispatches[-1].departed_at, dispatches[-1].arrived_at,
                           dispatches[-1].completed_at))),
            "steps": [e.trigger or e.data.get("action") for e in incident.events
                      if e.kind in ("transition", "dispatch")],
        }
        db.session.remove()
    return values


def test_dispatcher_dispatches_and_technician_answers_from_the_phone(app, page, phone, scene):
    reference = scene["reference"]

    # The dispatcher requests dispatch on the triaged incident: the best candidate is asked.
    page.goto("/login")
    log_in(page, scene["dispatcher"], r"/dispatch/$")  # the dispatcher starts at the board
    page.goto(f"/desk/incidents/{scene['incident_id']}")
    page.locator("form[data-trigger=request_dispatch] button").click()
    expect(page.locator("h1 span.state-dispatch_requested")).to_be_visible()
    expect(page.locator("section.timeline li.event-dispatch").first).to_contain_text(
        scene["first"])

    # On the board the dispatcher overrides: the offer goes to the second technician.
    expect_board_state(page, reference, "dispatch_requested", "offered", scene["first"])
    row = board_row(page, reference)
    row.locator("form.override-form select[name=technician_id]").select_option(
        str(scene["second_id"]))
    row.locator("form.override-form input[name=reason]").fill("現場に近いため")
    row.locator("form.override-form button").click()
    expect(page.locator("p.flash.success")).to_be_visible()
    expect_board_state(page, reference, "dispatch_requested", "offered", scene["second"])
    expect(board_row(page, reference).locator("li[data-dispatch-state]")).to_have_count(1)

    # The SMS reaches the technician's phone; the dev phone page shows it with its link.
    send_queued_messages(app)
    page.goto("/dev/phone")
    handset = page.locator(f'section[data-audience=technicians] '
                           f'div.handset[data-recipient="{scene["second_phone"]}"]')
    sms = handset.locator("div.message[data-template=offer]")
    expect(sms).to_have_count(1)
    expect(sms).to_have_attribute("data-status", "sent")
    expect(sms.locator("p.body")).to_contain_text(reference)
    link = sms.locator("a.message-link").get_attribute("href")
    assert re.fullmatch(r"/a/[\w.-]+", link)

    # The technician taps the link (no login), sees the incident and accepts.
    phone.goto(link)
    expect(phone.locator("dd.org")).to_have_text("丙製作所")
    expect(phone.locator("dd.summary")).to_have_text("全社の共有フォルダが暗号化")
    phone.locator("#link-accept button").click()
    expect(phone.locator("#link-done")).to_have_attribute("data-dispatch-state", "accepted")
    expect_board_state(page, reference, "technician_assigned", "accepted", scene["second"])

    # The link is spent: the rest of the visit needs the login, which the page leads to.
    phone.locator("#continue").click()
    log_in(phone, scene["technician"], r"/tech/dispatches/\d+$")
    for trigger, incident_state, dispatch_state in (("depart", "en_route", "en_route"),
                                                     ("arrive", "on_site", "on_site")):
        phone.locator(f"form[data-trigger={trigger}] button").click()
        expect(phone.locator("article.tech-card")).to_have_attribute(
            "data-dispatch-state", dispatch_state)
        expect_board_state(page, reference, incident_state, dispatch_state, scene["second"])

    complete = phone.locator("form[data-trigger=complete]")
    complete.locator("textarea[name=work_report]").fill(WORK_REPORT)
    complete.locator("input[name=signoff_name]").fill("丙 一郎")
    complete.locator("button").click()
    expect(phone.locator("article.tech-card")).to_have_attribute(
        "data-dispatch-state", "completed")
    expect(phone.locator("p.work-report")).to_have_text(WORK_REPORT)

    # The board lets the incident go; its page shows every step and the visit's record.
    expect(board_row(page, reference)).to_have_count(0)
    page.goto(f"/desk/incidents/{scene['incident_id']}")
    expect(page.locator("h1 span.state-onsite_completed")).to_be_visible()
    visit = page.locator("section.dispatches article[data-dispatch-state=completed]")
    expect(visit.locator(".tech")).to_have_text(scene["second"])
    expect(visit.locator("p.work-report")).to_have_text(WORK_REPORT)
    expect(visit.locator(".signoff")).to_have_text("丙 一郎")
    expect(page.locator("section.dispatches article[data-dispatch-state=cancelled] .tech"))\
        .to_have_text(scene["first"])
    timeline = page.locator("section.timeline")
    expect(timeline.locator("li.event-transition")).to_have_count(5)  # request .. complete
    expect(timeline).to_contain_text(f"{scene['second']} (SMS のリンクから)")
    expect(timeline).to_contain_text(f"技術者 {scene['second']} が駆付けを受諾しました")

    # The customer was told twice on the dev phone: on the way, and arrived.
    page.goto("/dev/phone")
    customer = page.locator('section[data-audience=customers] div.handset'
                            '[data-recipient="+819012345678"]')
    expect(customer.locator("div.message")).to_have_count(2)

    values = stored(app, scene["incident_id"])
    assert values["state"] == "onsite_completed"
    assert values["dispatches"] == [(scene["first"], "cancelled"),
                                    (scene["second"], "completed")]
    assert values["visit"] == (WORK_REPORT, "丙 一郎", True)
    assert values["steps"] == ["request_dispatch", "offered", "offered", "assign_technician",
                               "depart", "arrive", "complete_onsite"]
