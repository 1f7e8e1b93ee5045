"""Administration pages: technicians (list, add, edit) and their shifts in Japan time."""

from datetime import datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OnCallShift, Technician
from app.testkit import factories
from app.testkit.helpers import csrf_token
from tests.web.api.test_technicians_api import counts

FORM = {"name": "佐藤 健", "company": "駆付けサポート", "phone": "090-1234-5678",
        "email": "sato@support.example", "prefectures": ["13", "14"],
        "skills": ["ransomware", "dos"], "hourly_rate": "9000", "active": "y", "locale": "ja"}
SHIFT = {"starts_at": "2090-04-01T09:00", "ends_at": "2090-04-01T18:00", "note": "夜間"}


@pytest.fixture
def dispatcher(login, world):
    return login(world.emails["dispatcher"])


def technician(app, tech_id):
    with app.app_context():
        tech = db.session.get(Technician, tech_id)
        db.session.expunge(tech)
        db.session.remove()
    return tech


def shifts_of(app, tech_id):
    with app.app_context():
        rows = db.session.execute(select(OnCallShift.starts_at, OnCallShift.ends_at).where(
            OnCallShift.technician_id == tech_id).order_by(OnCallShift.starts_at)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def new_technician(app):
    """A technician with no shift, so their shifts are the test's alone."""
    with app.app_context():
        tech_id = factories.make_technician(prefectures=[27], skills=["dos"]).id
        db.session.remove()
    return tech_id


def post_form(client, path, data):
    return client.post(path, data=data | {"csrf_token": csrf_token(client, path)})


# ---------------------------------------------------------------- technicians


def test_the_list_shows_prefectures_skills_and_who_is_on_call(app, dispatcher, world):
    idle = new_technician(app)
    page = dispatcher.get("/admin/technicians?lang=en")
    assert page.status_code == 200
    rows = {int(tech_id): row for tech_id, row in
            (part.split('">', 1) for part in page.text.split('data-technician="')[1:])}
    assert "東京都" in rows[world.technician] and "Ransomware" in rows[world.technician]
    assert 'class="on-call">Yes (until 2099-12-31 09:00 JST)' in rows[world.technician]
    assert "大阪府" in rows[idle] and "DoS attack" in rows[idle]
    assert 'class="on-call">No' in rows[idle]


def test_the_header_links_dispatchers_to_the_technicians(dispatcher):
    assert 'href="/admin/technicians"' in dispatcher.get("/desk/").text


def test_an_admin_adds_a_technician(app, login, world):
    client = login(world.emails["admin"])
    response = post_form(client, "/admin/technicians/new", FORM)
    assert response.status_code == 302, response.text
    with app.app_context():
        tech = db.session.scalars(select(Technician).filter_by(name="佐藤 健")).one()
        assert (tech.phone, tech.prefectures, tech.skills, tech.hourly_rate, tech.active,
                tech.locale) == ("+819012345678", [13, 14], ["ransomware", "dos"], 9000, True,
                                 "ja")
        assert response.headers["Location"].endswith(f"/admin/technicians/{tech.id}/shifts")
        db.session.remove()


@pytest.mark.parametrize(("changes", "message"), [
    ({"phone": "12345"}, "international form"),
    ({"phone": "abc"}, "international form"),
    ({"phone": ""}, "This field is required."),
    ({"name": ""}, "This field is required."),
    ({"email": "not-an-email"}, "e-mail address is not valid"),
    ({"hourly_rate": "-5"}, "Number must be"),
    ({"hourly_rate": "lots"}, "Not a valid integer value."),
    ({"prefectures": ["99"]}, "not a valid choice"),
    ({"prefectures": ["tokyo"]}, "Invalid choice(s)"),
    ({"skills": ["hacking"]}, "not a valid choice"),
    ({"locale": "fr"}, "Not a valid choice."),
])
def test_bad_input_gives_the_form_back_and_adds_nothing(app, dispatcher, changes, message):
    before = counts(app)
    page = post_form(dispatcher, "/admin/technicians/new?lang=en", FORM | changes)
    assert page.status_code == 400
    assert 'class="error"' in page.text and message in page.text
    assert 'value="駆付けサポート"' in page.text  # what was typed is kept
    assert counts(app) == before


def test_editing_changes_the_details(app, dispatcher, world):
    path = f"/admin/technicians/{world.technician}"
    form_page = dispatcher.get(path)
    assert 'value="+819000' in form_page.text and "selected" in form_page.text
    changes = {"name": "新しい名前", "phone": "+1 415 555 0100", "prefectures": ["27"],
               "skills": ["dos"], "hourly_rate": "0", "locale": "en"}
    data = {k: v for k, v in (FORM | changes).items() if k != "active"}  # unticked
    response = post_form(dispatcher, path, data)
    assert response.status_code == 302, response.text
    tech = technician(app, world.technician)
    assert (tech.name, tech.phone, tech.prefectures, tech.skills, tech.hourly_rate, tech.active,
            tech.locale) == ("新しい名前", "+14155550100", [27], ["dos"], 0, False, "en")


def test_a_bad_edit_changes_nothing(app, dispatcher, world):
    before = counts(app)
    page = post_form(dispatcher, f"/admin/technicians/{world.technician}?lang=en",
                     FORM | {"phone": "+81 90"})
    assert page.status_code == 400 and "international form" in page.text
    assert counts(app) == before


def test_an_unknown_technician_is_404(app, dispatcher):
    before = counts(app)
    assert dispatcher.get("/admin/technicians/999999").status_code == 404
    assert dispatcher.get("/admin/technicians/999999/shifts").status_code == 404
    token = csrf_token(dispatcher, "/admin/technicians/new")
    assert dispatcher.post("/admin/technicians/999999", data=FORM | {
        "csrf_token": token}).status_code == 404
    assert dispatcher.post("/admin/technicians/999999/shifts", data=SHIFT | {
        "csrf_token": token}).status_code == 404
    assert dispatcher.post("/admin/shifts/999999/delete", data={
        "csrf_token": token}).status_code == 404
    assert counts(app) == before


# ---------------------------------------------------------------- shifts


def test_a_shift_typed_in_japan_time_is_stored_in_utc(app, dispatcher):
    tech = new_technician(app)
    path = f"/admin/technicians/{tech}/shifts"
    response = post_form(dispatcher, path, SHIFT)
    assert response.status_code == 302, response.text
    assert shifts_of(app, tech) == [(datetime(2090, 4, 1, 0, 0), datetime(2090, 4, 1, 9, 0))]
    page = dispatcher.get(path)
    assert "2090-04-01 09:00 JST" in page.text and "2090-04-01 18:00 JST" in page.text
    assert "夜間" in page.text


@pytest.mark.parametrize(("changes", "message"), [
    ({"ends_at": "2090-04-01T08:00"}, "end after it starts"),
    ({"ends_at": "2090-04-01T09:00"}, "end after it starts"),
    ({"ends_at": "2090-04-09T09:00"}, "at most 7 days"),
    ({"starts_at": "2000-01-01T09:00", "ends_at": "2000-01-01T18:00"}, "already ended"),
    ({"starts_at": "tomorrow"}, "Not a valid datetime value."),
    ({"starts_at": ""}, "This field is required."),
    ({"note": "x" * 201}, "Field cannot be longer than 200 characters."),
])
def test_bad_shifts_give_the_form_back_and_add_nothing(app, dispatcher, changes, message):
    tech = new_technician(app)
    before = counts(app)
    page = post_form(dispatcher, f"/admin/technicians/{tech}/shifts?lang=en", SHIFT | changes)
    assert page.status_code == 400
    assert message in page.text
    assert counts(app) == before


def test_an_overlapping_shift_is_refused(app, dispatcher):
    tech = new_technician(app)
    path = f"/admin/technicians/{tech}/shifts?lang=en"
    post_form(dispatcher, path, SHIFT)
    before = counts(app)
    page = post_form(dispatcher, path, SHIFT | {"starts_at": "2090-04-01T17:00",
                                                "ends_at": "2090-04-02T02:00"})
    assert page.status_code == 400
    assert "already on call during part of that period" in page.text
    assert 'value="2090-04-01T17:00"' in page.text
    assert counts(app) == before


def test_a_shift_is_deleted(app, dispatcher):
    tech = new_technician(app)
    post_form(dispatcher, f"/admin/technicians/{tech}/shifts", SHIFT)
    with app.app_context():
        shift_id = db.session.scalar(select(OnCallShift.id).filter_by(technician_id=tech))
        db.session.remove()
    response = post_form(dispatcher, f"/admin/shifts/{shift_id}/delete", {})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/technicians/{tech}/shifts")
    assert shifts_of(app, tech) == []


# ---------------------------------------------------------------- refusals


def test_posts_without_a_csrf_token_are_refused(app, dispatcher, world):
    tech = new_technician(app)
    post_form(dispatcher, f"/admin/technicians/{tech}/shifts", SHIFT)
    with app.app_context():
        shift_id = db.session.scalar(select(OnCallShift.id).filter_by(technician_id=tech))
        db.session.remove()
    before = counts(app)
    for path, data in (("/admin/technicians/new", FORM),
                       (f"/admin/technicians/{world.technician}", FORM),
                       (f"/admin/technicians/{tech}/shifts",
                        SHIFT | {"starts_at": "2090-05-01T09:00", "ends_at": "2090-05-01T18:00"}),
                       (f"/admin/shifts/{shift_id}/delete", {})):
        assert dispatcher.post(path, data=data).status_code == 400
        assert dispatcher.post(path, data=data | {"csrf_token": "forged"}).status_code == 400
    assert counts(app) == before


@pytest.mark.parametrize("role", ["desk", "technician", "customer", "insurer"])
def test_other_roles_may_not_open_or_post_the_admin_pages(app, login, world, role):
    client = login(world.emails[role])
    assert client.get("/admin/technicians").status_code == 403
    assert client.get(f"/admin/technicians/{world.technician}/shifts").status_code == 403
    assert 'href="/admin/technicians"' not in client.get("/report").text
    before = counts(app)
    token = csrf_token(client, "/report")
    assert client.post("/admin/technicians/new", data=FORM | {
        "csrf_token": token}).status_code == 403
    assert counts(app) == before


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/admin/technicians")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
