"""End to end in Chromium: a customer opens its incident from its list, sends a file and
signs the technician's work report off; the desk sees both.

The incident is walked to a completed visit with the real services
(tests/scenes/claims.py); the customer's part is done on the pages, in Japanese.
"""

import hashlib
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Dispatch, Evidence, Incident
from app.testkit import factories
from tests.scenes import claims as claim_scene
from tests.system.browser.conftest import watched_tab
from tests.system.browser.helpers import log_in
from tests.system.browser.test_claim_flow import tiny_png

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = pytest.mark.browser

claim_files = claim_scene.claim_files  # fixture: evidence per test
WORK_REPORT = "感染端末をネットワークから隔離し、ログを保全した。"


@pytest.fixture
def scene(app, world, claim_files):
    """Org A's incident after a completed visit with its work report."""
    with app.app_context():
        incident_id, dispatch_id = claim_scene.visited_incident(world)
        values = {"incident_id": incident_id, "dispatch_id": dispatch_id,
                  "reference": db.session.get(Incident, incident_id).reference}
        db.session.remove()
    return values


@pytest.fixture
def desk_tab(browser, live_server):
    """The desk's own browser."""
    with watched_tab(browser, live_server) as tab:
        yield tab


def customer_logs_in(page, email):
    page.goto("/login")
    page.locator("#login-form #email").fill(email)
    page.locator("#login-form #password").fill(factories.PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator(".who")).to_be_visible()


def test_a_customer_sends_a_file_and_signs_the_work_report_off(app, page, desk_tab, world,
                                                               scene):
    customer_logs_in(page, world.emails["customer"])
    page.goto("/report")
    page.get_by_role("link", name=scene["reference"]).click()
    expect(page).to_have_url(re.compile(rf"/my/incidents/{scene['incident_id']}$"))
    expect(page.locator(".state-sentence")).to_have_text(
        "現地作業が終わりました。作業報告書をご確認ください。")
    expect(page.locator(".work-report")).to_have_text(WORK_REPORT)
    expect(page.locator("#timeline")).to_contain_text("技術者が到着しました。")

    # A file: hashed, listed, on the timeline.
    png = tiny_png()
    upload = page.locator("#files form.evidence-upload")
    upload.locator("input[name=file]").set_input_files(
        {"name": "画面の写真.png", "mimeType": "image/png", "buffer": png})
    upload.locator("select[name=kind]").select_option("photo")
    upload.locator("input[name=description]").fill("警告画面")
    upload.locator("button[type=submit]").click()
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.locator("#files .customer-files")).to_contain_text("画面の写真.png")
    expect(page.locator("#files .sha256")).to_have_text(hashlib.sha256(png).hexdigest())
    expect(page.locator("#timeline")).to_contain_text("ファイルを送りました。")

    # The sign-off: once, with a comment; the form is gone afterwards.
    form = page.locator("form.sign-off")
    form.locator("textarea[name=comment]").fill("作業内容の説明を受けました。")
    form.get_by_role("button", name="この作業報告書の内容を確認しました").click()
    expect(page.locator(".flash.success")).to_contain_text("作業報告書の確認を記録しました")
    expect(page.locator(".signed-off")).to_contain_text(world.emails["customer"])
    expect(page.locator("form.sign-off")).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("作業報告書をオンラインで確認しました。")

    with app.app_context():
        dispatch = db.session.get(Dispatch, scene["dispatch_id"])
        assert dispatch.customer_signoff_comment == "作業内容の説明を受けました。"
        evidence = db.session.scalars(select(Evidence)).one()
        assert (evidence.sha256, evidence.kind) == (hashlib.sha256(png).hexdigest(), "photo")
        db.session.remove()

    # The desk sees the file, the sign-off and its comment.
    log_in(desk_tab, world.emails["desk"])
    desk_tab.goto(f"/desk/incidents/{scene['incident_id']}")
    expect(desk_tab.locator(".customer-signoff")).to_contain_text(world.emails["customer"])
    expect(desk_tab.locator(".timeline")).to_contain_text("作業内容の説明を受けました。")
    expect(desk_tab.locator("table.evidence")).to_contain_text("画面の写真.png")
