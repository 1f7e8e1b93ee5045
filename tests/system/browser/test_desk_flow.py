"""End to end in Chromium: an SME reports on the web form, the desk triages and dispatches.

Test data is made with the factories inside short app contexts; only ids and plain
values leave them. Pages are driven with Playwright's auto-waiting `expect`, no sleeps.
"""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Incident, Organization
from app.models.incident import CATEGORIES
from app.testkit import factories
from tests.system.browser.helpers import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"^INC-\d{4}-\d{6}$")
CHECKED_ITEMS = ["confirm_contact", "isolate", "no_power_off", "ransom_note"]
XSS = "<script>window.__xss=1</script>"
XSS_IMG = '<img src="x" onerror="window.__xss=2">'


def _make_org_and_desk_user(**org_fields):
    """A covered SME (on-site included) and a desk operator: plain values only."""
    org = factories.make_organization(**org_fields)
    user = factories.make_user("desk")
    return {"org_id": org.id, "org_code": org.code, "org_name": org.name,
            "desk_email": user.email}


@pytest.fixture
def sme_and_desk(app):
    with app.app_context():
        values = _make_org_and_desk_user(phone="+81312345678")
        db.session.remove()
    return values


def report_on_the_form(page, *, customer, name, phone, category, description):
    """Fill the public form as an anonymous SME; return the reference shown."""
    page.goto("/report")
    form = page.locator("#report-form")
    form.locator("#customer").fill(customer)
    form.locator("#reporter_name").fill(name)
    form.locator("#reporter_phone").fill(phone)
    form.locator(f"input[name=category][value={category}]").check()
    form.locator("#description").fill(description)
    form.locator("button[type=submit]").click()
    reference = page.locator("#reference")
    expect(reference).to_have_text(REFERENCE)
    return reference.inner_text()


def open_incident(page, reference):
    """From the desk list, follow the incident's reference link."""
    page.goto("/desk/")
    page.locator("table.incidents").get_by_role("link", name=reference, exact=True).click()
    expect(page.locator("h1")).to_contain_text(reference)


def press(page, trigger, state):
    page.locator(f"form[data-trigger={trigger}] button").click()
    expect(page.locator(f"h1 span.state-{state}")).to_be_visible()


def incident_by_reference(app, reference):
    """The incident's state, organization and timeline as plain values."""
    with app.app_context():
        incident = db.session.scalars(
            select(Incident).where(Incident.reference == reference)).one()
        values = {
            "state": incident.state, "organization_id": incident.organization_id,
            "channel": incident.channel, "category": incident.category,
            "description": incident.description, "reporter_name": incident.reporter_name,
            "events": [(e.kind, e.trigger, e.to_state, dict(e.data or {}), e.note)
                       for e in incident.events],
        }
        db.session.remove()
    return values


def test_sme_reports_and_desk_triages_then_requests_dispatch(app, page, sme_and_desk):
    # (a) The SME, not logged in, finds the form in Japanese with every category.
    page.goto("/report")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    radios = page.locator("#report-form input[type=radio][name=category]")
    expect(radios).to_have_count(len(CATEGORIES))
    expect(radios.and_(page.locator("[value=ransomware]"))).to_have_count(1)

    description = "朝出社したらファイルが開けず、画面に身代金を要求するメッセージが出ています。\n" \
                  "共有フォルダのファイル名も変わっています。"
    reference = report_on_the_form(
        page, customer=sme_and_desk["org_code"], name="山田 太郎", phone="03-1111-2222",
        category="ransomware", description=description)

    # (b) A desk operator logs in and finds the incident in the list.
    log_in(page, sme_and_desk["desk_email"])
    row = page.locator("table.incidents tr", has=page.get_by_role("link", name=reference))
    expect(row).to_contain_text(sme_and_desk["org_name"])
    expect(row.locator("span.state-received")).to_be_visible()
    open_incident(page, reference)
    expect(page.locator("section.description")).to_contain_text("身代金を要求するメッセージ")

    # Before triage the checklist is shown but cannot be ticked.
    expect(page.locator("form.check[data-item=isolate] button")).to_be_disabled()
    press(page, "start_triage", "triaging")

    for item in CHECKED_ITEMS:
        button = page.locator(f"form.check[data-item={item}] button")
        expect(button).to_have_attribute("aria-pressed", "false")
        button.click()
        expect(page.locator(f"form.check[data-item={item}] button")).to_have_attribute(
            "aria-pressed", "true")
    # Every tick survived the reloads; the items not ticked stay unticked.
    for item in CHECKED_ITEMS:
        expect(page.locator(f"form.check[data-item={item}] button")).to_have_attribute(
            "aria-pressed", "true")
    expect(page.locator("form.check[data-item=backups] button")).to_have_attribute(
        "aria-pressed", "false")

    note = "LANケーブルを抜いてもらいました。電源は入れたままです。"
    page.locator("#note-form textarea[name=note]").fill(note)
    page.locator("#note-form button[type=submit]").click()
    expect(page.locator("section.timeline li.event-note")).to_contain_text(note)

    press(page, "request_dispatch", "dispatch_requested")
    # The desk may not assign a technician (dispatcher's job); triage is over.
    expect(page.locator("form[data-trigger=request_dispatch]")).to_have_count(0)
    expect(page.locator("form.check[data-item=isolate] button")).to_be_disabled()

    # The database agrees with what the page showed.
    stored = incident_by_reference(app, reference)
    assert stored["state"] == "dispatch_requested"
    assert stored["organization_id"] == sme_and_desk["org_id"]
    assert (stored["channel"], stored["category"]) == ("web", "ransomware")
    assert stored["description"].replace("\r\n", "\n") == description
    assert stored["reporter_name"] == "山田 太郎"
    kinds = [(kind, trigger, to_state) for kind, trigger, to_state, _, _ in stored["events"]]
    assert kinds == [
        ("intake", None, "received"),
        ("transition", "start_triage", "triaging"),
        *[("triage_check", None, None)] * len(CHECKED_ITEMS),
        ("note", None, None),
        ("transition", "request_dispatch", "dispatch_requested"),
        ("dispatch", None, None),  # nobody is on call here: the dispatchers are paged
    ]
    checks = [data for kind, _, _, data, _ in stored["events"] if kind == "triage_check"]
    assert checks == [{"item": item, "checked": True} for item in CHECKED_ITEMS]
    assert stored["events"][0][3]["channel"] == "web"
    assert stored["events"][-3][4] == note
    assert stored["events"][-1][3]["action"] == "dispatcher_paged"


def test_script_in_description_is_shown_as_text_and_never_runs(app, page, sme_and_desk):
    # The SME identifies itself by its registered phone number, written the Japanese way.
    description = f"{XSS} 不審な画面が出ました {XSS_IMG}"
    reference = report_on_the_form(
        page, customer="03-1234-5678", name="佐藤 花子", phone="090-1234-5678",
        category="malware", description=description)
    assert incident_by_reference(app, reference)["organization_id"] == sme_and_desk["org_id"]

    log_in(page, sme_and_desk["desk_email"])
    # The list shows the summary (category label + first line) as text too.
    row = page.locator("table.incidents tr", has=page.get_by_role("link", name=reference))
    expect(row).to_contain_text(XSS)
    assert page.evaluate("() => window.__xss") is None

    open_incident(page, reference)
    expect(page.locator("section.description p.pre")).to_have_text(description)
    expect(page.locator("p.summary")).to_contain_text(XSS)
    expect(page.locator("main script")).to_have_count(0)
    expect(page.locator("main img")).to_have_count(0)
    assert page.evaluate("() => window.__xss") is None


def test_header_link_switches_the_language_to_english_and_back(page):
    page.goto("/report")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.locator("header a[lang=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The choice is remembered (cookie) and the user stays on the same page.
    expect(page).to_have_url(re.compile(r"/report\??$"))
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("header a[lang=ja]").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")


def test_unknown_customer_number_is_refused_and_nothing_is_recorded(app, page, sme_and_desk):
    page.goto("/report")
    form = page.locator("#report-form")
    form.locator("#customer").fill("NO-SUCH-0000")
    form.locator("#reporter_name").fill("鈴木 一郎")
    form.locator("#reporter_phone").fill("03-9999-0000")
    form.locator("input[name=category][value=phishing_bec]").check()
    form.locator("#description").fill("社長を名乗るメールで振込を依頼されました。")
    form.locator("button[type=submit]").click()
    expect(page.locator("#report-form .field.has-error #customer")).to_be_visible()
    expect(page.locator("#reference")).to_have_count(0)
    # What the SME typed is kept so they can correct only the number.
    expect(page.locator("#description")).to_have_value("社長を名乗るメールで振込を依頼されました。")
    with app.app_context():
        assert db.session.scalars(select(Incident)).first() is None
        assert db.session.get(Organization, sme_and_desk["org_id"]) is not None
        db.session.remove()
