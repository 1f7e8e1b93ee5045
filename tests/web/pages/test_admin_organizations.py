"""Admin organization pages: list and search, create, edit, phones; refusals show the reason
next to the field and change nothing."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Organization, OrganizationPhone
from app.testkit.helpers import csrf_token
from tests.web.api.test_organizations_api import everything

FORM = {"code": "tky-0002", "name": "株式会社東京精機", "address": "東京都港区芝公園1-1",
        "prefecture": "13", "industry": "製造業", "employees": "30"}


@pytest.fixture
def admin(login, world):
    return login(world.emails["admin"])


def stored(app, **where):
    with app.app_context():
        row = db.session.scalars(select(Organization).filter_by(**where)).first()
        phones = [(p.number, p.label) for p in sorted(row.phones, key=lambda p: p.id)] \
            if row else None
        if row is not None:
            db.session.expunge(row)
        db.session.remove()
    return row, phones


def code_of(app, organization_id):
    with app.app_context():
        code = db.session.get(Organization, organization_id).code
        db.session.remove()
    return code


def post(client, path, data, form_page=None):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_page or path)})


def errors_on(page):
    return re.findall(r'<p class="error">([^<]+)</p>', page.text)


def test_the_admin_nav_links_to_the_organizations(admin):
    assert 'href="/admin/organizations"' in admin.get("/admin/organizations").text


def test_an_admin_adds_an_organization_then_its_phones(app, admin):
    response = post(admin, "/admin/organizations/new", FORM)
    assert response.status_code == 302, response.text
    organization, phones = stored(app, code="TKY-0002")
    path = f"/admin/organizations/{organization.id}"
    assert response.headers["Location"].endswith(path)
    assert (organization.name, organization.prefecture, organization.employees, phones) == \
        ("株式会社東京精機", 13, 30, [])
    added = post(admin, f"{path}/phones", {"phone": "03-5555-0101", "label": "代表"}, path)
    assert added.status_code == 302
    assert stored(app, id=organization.id)[1] == [("+81355550101", "代表")]
    page = admin.get(path).text
    assert "+81355550101" in page and "代表" in page


def test_the_organization_page_links_to_its_contracts_and_shows_its_users(admin, world):
    page = admin.get(f"/admin/organizations/{world.org_a}").text
    assert f'href="/admin/organizations/{world.org_a}/contracts"' in page
    assert world.emails["customer"] in page and world.emails["other_customer"] not in page


def test_an_admin_edits_an_organization(app, admin, world):
    path = f"/admin/organizations/{world.org_b}"
    response = post(admin, path, {**FORM, "code": "otsu-1", "prefecture": "27"})
    assert response.status_code == 302, response.text
    organization, _ = stored(app, id=world.org_b)
    assert (organization.code, organization.prefecture) == ("OTSU-1", 27)


@pytest.mark.parametrize("changes,status,field", [
    ({"code": "TAKEN"}, 409, "code"),
    ({"code": "tky 0002"}, 422, "code"),
    ({"code": ""}, 422, "code"),
    ({"prefecture": "48"}, 422, "prefecture"),
    ({"prefecture": "tokyo"}, 422, "prefecture"),
    ({"employees": "-1"}, 422, "employees"),
    ({"name": ""}, 422, "name"),
])
def test_a_bad_organization_form_is_refused_next_to_its_field_and_writes_nothing(
        app, admin, world, changes, status, field):
    if changes.get("code") == "TAKEN":
        changes = {"code": code_of(app, world.org_a).lower()}
    before = everything(app)
    for path in ("/admin/organizations/new", f"/admin/organizations/{world.org_b}"):
        page = post(admin, path, {**FORM, **changes})
        assert page.status_code == status, page.text
        assert re.search(rf'<div class="field[^"]*has-error">\s*<label for="{field}"', page.text)
        assert errors_on(page)
    assert everything(app) == before


@pytest.mark.parametrize("number,status", [
    ("03-1234-5678", 409),  # org A's number
    ("+81312345678", 409),
    ("not a phone", 422),
    ("", 422),
])
def test_a_bad_or_registered_phone_is_refused_and_writes_nothing(app, admin, world, number,
                                                                  status):
    path = f"/admin/organizations/{world.org_b}"
    before = everything(app)
    page = post(admin, f"{path}/phones", {"phone": number, "label": ""}, path)
    assert page.status_code == status
    assert re.search(r'<div class="field[^"]*has-error">\s*<label for="phone"', page.text)
    assert everything(app) == before


def test_a_phone_is_removed_and_another_organizations_is_not(app, admin, world):
    path = f"/admin/organizations/{world.org_a}"
    with app.app_context():
        phone_of_a = db.session.scalar(select(OrganizationPhone.id).where(
            OrganizationPhone.organization_id == world.org_a))
    before = everything(app)
    other = f"/admin/organizations/{world.org_b}"
    refused = post(admin, f"{other}/phones/remove", {"phone_id": str(phone_of_a)}, other)
    assert refused.status_code == 404
    assert everything(app) == before
    removed = post(admin, f"{path}/phones/remove", {"phone_id": str(phone_of_a)}, path)
    assert removed.status_code == 302
    assert stored(app, id=world.org_a)[1] == []


def test_the_list_searches_by_code_or_name_and_pages(app, admin, world, monkeypatch):
    for n in range(3):
        post(admin, "/admin/organizations/new", {**FORM, "code": f"SRCH-{n}",
                                                 "name": f"検索商事{n}"})
    listed = admin.get("/admin/organizations?q=srch").text
    assert [f"SRCH-{n}" in listed for n in range(3)] == [True] * 3
    assert code_of(app, world.org_a) not in listed
    by_name = admin.get("/admin/organizations?q=検索商事1").text
    assert "SRCH-1" in by_name and "SRCH-0" not in by_name
    monkeypatch.setattr("app.web.admin.organizations.PAGE_SIZE", 2)
    second = admin.get("/admin/organizations?q=SRCH&page=2").text
    assert "SRCH-2" in second and "SRCH-1" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_a_search_too_long_is_refused_with_a_message(admin):
    response = admin.get("/admin/organizations?q=" + "x" * 101)
    assert response.status_code == 302
    assert 'class="flash error"' in admin.get(response.headers["Location"]).text


def test_a_form_without_its_csrf_token_is_refused(app, admin, world):
    before = everything(app)
    assert admin.post("/admin/organizations/new", data=FORM).status_code == 400
    assert admin.post(f"/admin/organizations/{world.org_b}/phones",
                      data={"phone": "03-5555-0101"}).status_code == 400
    assert everything(app) == before


@pytest.mark.parametrize("role", ["dispatcher", "desk", "customer"])
def test_only_admins_use_the_organization_pages(app, login, world, role):
    client = login(world.emails[role])
    before = everything(app)
    assert client.get("/admin/organizations").status_code == 403
    assert client.get(f"/admin/organizations/{world.org_a}").status_code == 403
    assert client.post("/admin/organizations/new", data=FORM).status_code in (400, 403)
    assert 'href="/admin/organizations"' not in client.get("/reports/").text
    assert everything(app) == before
