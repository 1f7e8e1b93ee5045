"""In Chromium (issue 13): a call on the desk line completed into a classified ransomware
incident with the ransomware checklist, and a duplicate merged into the original.

The call comes in as Twilio sends it: a signed POST to the incoming-call webhook.
"""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Incident, Notification
from tests.system.browser.helpers import log_in
from tests.web.webhooks.helpers import TOKEN, sign

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = pytest.mark.browser

CALLER = "+81312345678"  # organization A's registered number


@pytest.fixture
def signed_twilio(app):
    """The auth token Twilio signs with, for the test; restored afterwards."""
    saved = {key: app.config.get(key) for key in ("TWILIO_AUTH_TOKEN", "DESK_PHONE_NUMBER")}
    app.config.update(TWILIO_AUTH_TOKEN=TOKEN, DESK_PHONE_NUMBER="")
    yield
    app.config.update(saved)


def ring_the_desk_line(app, caller=CALLER, call="1"):
    """Twilio's signed webhook of an incoming call; the reference the phone line opened."""
    path = "/webhooks/twilio/voice/incoming"
    data = {"CallSid": "CA" + call * 32, "From": caller, "To": "+81500000000",
            "Direction": "inbound", "CallStatus": "ringing"}
    response = app.test_client().post(path, data=data,
                                      headers={"X-Twilio-Signature": sign(app, path, data,
                                                                          TOKEN)})
    assert response.status_code == 200, response.text
    with app.app_context():
        incident = db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()
        values = (incident.reference, incident.needs_completion)
        db.session.remove()
    return values


def incident_row(app, reference):
    with app.app_context():
        incident = db.session.scalars(select(Incident).where(
            Incident.reference == reference)).one()
        values = {"category": incident.category, "severity": incident.severity,
                  "state": incident.state, "needs_completion": incident.needs_completion,
                  "reporter_name": incident.reporter_name}
        db.session.remove()
    return values


def test_a_call_is_completed_into_a_ransomware_incident(app, page, world, signed_twilio):
    reference, waiting = ring_the_desk_line(app)
    assert waiting
    log_in(page, world.emails["desk"])
    page.goto("/desk/phone-intake")
    row = page.locator("#recent-calls tr", has_text=reference)
    expect(row).to_contain_text("甲商事")
    expect(row).to_contain_text(CALLER)
    row.get_by_role("link", name="この電話の受付を完了する").click()
    expect(page.locator("h1")).to_contain_text(reference)
    form = page.locator("#correction-form")
    expect(form).to_be_visible()
    form.locator("#category").select_option("ransomware")
    form.locator("#severity").select_option("critical")
    form.locator("#summary").fill("ランサムウェア: 共有フォルダが暗号化")
    form.locator("#description").fill("朝8時半、全ファイルの拡張子が変わり脅迫文が表示された")
    form.locator("#reporter_name").fill("山田 太郎")
    form.locator("#discovered_at").fill("2026-11-25T08:30")
    form.locator("#completed").check()
    form.locator("button[type=submit]").click()
    expect(page.locator("p.flash.success")).to_contain_text("訂正しました")
    checklist = page.locator("section.checklist")
    expect(checklist.locator("form[data-item=ransom_note]")).to_be_visible()
    expect(checklist.locator("form[data-item=backups]")).to_be_visible()
    expect(page.locator("li.event-corrected")).to_contain_text("その他 → ランサムウェア")
    expect(page.locator("#correction-form #completed")).to_have_count(0)
    assert incident_row(app, reference) == {
        "category": "ransomware", "severity": "critical", "state": "received",
        "needs_completion": False, "reporter_name": "山田 太郎"}
    page.goto("/desk/phone-intake")
    expect(page.locator("#recent-calls tr", has_text=reference)).not_to_contain_text("未完了")


def test_a_duplicate_is_merged_into_the_call(app, page, world, signed_twilio):
    original, _ = ring_the_desk_line(app, call="1")
    duplicate, _ = ring_the_desk_line(app, call="2")
    with app.app_context():
        row = db.session.scalars(select(Incident).where(Incident.reference == duplicate)).one()
        row.reporter_email = "yamada@example.jp"
        db.session.commit()
        duplicate_id = row.id
        db.session.remove()
    log_in(page, world.emails["desk"])
    page.goto(f"/desk/incidents/{duplicate_id}")
    form = page.locator("#link-form")
    form.locator("#reference").fill(original)
    form.locator("#kind").select_option("duplicate_of")
    form.locator("button[type=submit]").click()
    expect(page.locator("h1 span.state-cancelled")).to_be_visible()
    link = page.locator("#links li[data-link=duplicate_of]")
    expect(link).to_contain_text(original)
    link.get_by_role("link", name=original).click()
    expect(page.locator("h1")).to_contain_text(original)
    expect(page.locator("#links li[data-link=duplicated_by]")).to_contain_text(duplicate)
    assert incident_row(app, original)["state"] == "received"
    with app.app_context():
        told = db.session.scalars(select(Notification).where(
            Notification.template == "customer_duplicate")).all()
        # The caller's number is a Tokyo landline: no SMS, the e-mail only (enqueue_sms).
        assert {(m.channel, m.recipient) for m in told} == {("email", "yamada@example.jp")}
        assert all(original in m.body for m in told)
        db.session.remove()
