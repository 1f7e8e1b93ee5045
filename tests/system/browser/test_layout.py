"""The incident page and the technician's visit page laid out for work, in Chromium.

The next action must be on the first screen: the desk's first allowed trigger at 1280 × 800,
the technician's next step on a 390-wide phone. Each page is also photographed at 1280 and
390 px wide into test-results/screenshots/ (gitignored) for people to look at.
"""

from datetime import timedelta

import pytest

from app.config import BASE_DIR
from app.extensions import db
from app.models import Organization
from app.services.dispatch import visits as dispatch
from app.services.incidents import leaks
from app.services.incidents.lifecycle import fire_trigger
from app.services.incidents.notes import add_note
from app.testkit import factories
from tests.scenes import claims as claim_scene
from tests.system.browser.conftest import watched_tab
from tests.system.browser.helpers import log_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

pytestmark = pytest.mark.browser

claim_files = claim_scene.claim_files  # fixture: evidence and signing key per test
SCREENSHOTS = BASE_DIR / "test-results" / "screenshots"
DESK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
NOTES = 30  # enough timeline to make the page long


def triaged_leak(world):
    """Org A's ransomware case in triage with a long timeline and a marked leak."""
    desk = claim_scene.user(world, "desk")
    org = db.session.get(Organization, world.org_a)
    incident = factories.make_incident(org, category="ransomware", severity="critical",
                                       summary="ファイルが開けず身代金要求の画面が出ている")
    fire_trigger(incident.id, "start_triage", desk)
    for n in range(NOTES):
        add_note(incident.id, desk, f"電話で状況を確認（{n + 1}回目）。端末はLANから外したまま。")
    leaks.mark_leak(desk, incident.id, malicious=False)
    return incident.id


def visited_with_costs(world):
    """Org A's case after a completed visit, with approved, evidenced cost lines."""
    incident_id, _ = claim_scene.visited_incident(world)
    claim_scene.costed(world, incident_id, lines=((30_000, "dispatch"),
                                                  (120_000, "investigation")))
    return incident_id


DESK_SCENES = {"triage": triaged_leak, "costs": visited_with_costs}


@pytest.fixture(params=sorted(DESK_SCENES))
def desk_case(request, app, world, claim_files):
    """(scene name, incident id, the desk's e-mail)."""
    with app.app_context():
        incident_id = DESK_SCENES[request.param](world)
        db.session.remove()
    return request.param, incident_id, world.emails["desk"]


def screenshot(tab, name, viewport):
    """Photograph the whole page at this width into the test output folder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}-{viewport['width']}.png"), full_page=True)


def assert_on_first_screen(tab, locator, viewport):
    """The element is visible inside the viewport as the page opens, with no scrolling."""
    expect(locator).to_be_visible()
    assert tab.evaluate("() => window.scrollY") == 0
    box = locator.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box


def open_as(browser, live_server, viewport, email, path, **options):
    """A tab of this size, logged in as `email`, at `path` (a context manager's tab)."""
    tab_context = watched_tab(browser, live_server, viewport=viewport, **options)
    tab = tab_context.__enter__()
    log_in(tab, email)
    tab.goto(path)
    return tab_context, tab


@pytest.fixture
def sized_tab(browser, live_server):
    """sized_tab(viewport, email, path): a logged-in tab of that size; closed after the test."""
    opened = []

    def open_tab(viewport, email, path, **options):
        tab_context, tab = open_as(browser, live_server, viewport, email, path, **options)
        opened.append(tab_context)
        return tab

    yield open_tab
    for tab_context in opened:
        tab_context.__exit__(None, None, None)


def test_the_desks_next_action_is_on_the_first_screen_at_1280_by_800(desk_case, sized_tab):
    name, incident_id, email = desk_case
    tab = sized_tab(DESK, email, f"/desk/incidents/{incident_id}")
    first = tab.locator("#next-actions form[data-trigger] button[type=submit]").first
    expect(first).to_have_class("primary")
    assert_on_first_screen(tab, first, DESK)
    header = tab.locator("#incident-head")
    expect(header.locator("h1")).to_contain_text("INC-")
    expect(header.locator("[data-severity]")).to_be_visible()
    screenshot(tab, f"desk-incident-{name}", DESK)


def test_wide_screens_put_the_timeline_beside_the_work_and_phones_below_it(
        desk_case, sized_tab):
    name, incident_id, email = desk_case
    wide = sized_tab(DESK, email, f"/desk/incidents/{incident_id}")
    work, timeline = wide.locator("#checklist"), wide.locator("section.timeline")
    work_box, timeline_box = work.bounding_box(), timeline.bounding_box()
    assert timeline_box["x"] >= work_box["x"] + work_box["width"], (work_box, timeline_box)
    assert timeline_box["y"] < DESK["height"]  # the timeline starts on the first screen too
    narrow = sized_tab(PHONE, email, f"/desk/incidents/{incident_id}", is_mobile=True)
    work_box = narrow.locator("#checklist").bounding_box()
    timeline_box = narrow.locator("section.timeline").bounding_box()
    assert timeline_box["y"] >= work_box["y"] + work_box["height"], (work_box, timeline_box)
    page_width = narrow.evaluate("() => document.documentElement.scrollWidth")
    assert page_width <= PHONE["width"]  # nothing sticks out sideways on a phone
    screenshot(narrow, f"desk-incident-{name}", PHONE)


def test_long_forms_are_folded_until_opened(desk_case, sized_tab):
    name, incident_id, email = desk_case
    tab = sized_tab(DESK, email, f"/desk/incidents/{incident_id}")
    folds = {"triage": ["#leak-forms"], "costs": ["#cost-form-fold", "#evidence-upload-fold"]}
    for fold in folds[name]:
        details = tab.locator(f"details{fold}")
        form = details.locator("form").first
        expect(details).not_to_have_attribute("open", "")
        expect(form).to_be_hidden()
        details.locator("summary").click()
        expect(form).to_be_visible()


def technician_at(world, step):
    """An accepted visit moved on to `step` ('accepted', 'en_route' or 'on_site')."""
    incident_id, dispatch_id, role = claim_scene.accepted_incident(world)
    tech = claim_scene.user(world, role)
    now = claim_scene.T0
    if step in ("en_route", "on_site"):
        dispatch.advance(dispatch_id, tech, "depart", now=now + timedelta(minutes=5))
    if step == "on_site":
        dispatch.advance(dispatch_id, tech, "arrive", now=now + timedelta(minutes=50))
    return dispatch_id, tech.email


@pytest.mark.parametrize(("step", "next_step"), [("accepted", "depart"),
                                                 ("en_route", "arrive"),
                                                 ("on_site", "complete")])
def test_the_technicians_next_step_is_on_the_first_screen_of_a_phone(
        app, world, claim_files, sized_tab, step, next_step):
    with app.app_context():
        dispatch_id, email = technician_at(world, step)
        db.session.remove()
    phone = sized_tab(PHONE, email, f"/tech/dispatches/{dispatch_id}", is_mobile=True)
    button = phone.locator(f"form.step[data-trigger={next_step}] button.primary")
    assert_on_first_screen(phone, button, PHONE)
    if step == "on_site":
        expect(phone.locator("details#cost-form-fold form.cost-form")).to_be_hidden()
        expect(phone.locator("details#evidence-upload-fold form")).to_be_hidden()
    screenshot(phone, f"technician-visit-{step}", PHONE)
    wide = sized_tab(DESK, email, f"/tech/dispatches/{dispatch_id}")
    expect(wide.locator(f"form.step[data-trigger={next_step}]")).to_be_visible()
    screenshot(wide, f"technician-visit-{step}", DESK)
