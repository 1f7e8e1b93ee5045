"""Admin pages: insurers (secret shown once, rotation), their portal users, policy create/edit."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import InsurancePolicy, Insurer, User
from app.testkit.helpers import csrf_token
from tests.web.api.test_insurers_api import counts

INSURER = {"code": "tokio", "name": "東京損保", "notice_email": "notice@insurer.example",
           "webhook_url": "https://insurer.example/hooks"}
POLICY = {"number": "CY-2026-0001", "starts_on": "2026-04-01", "ends_on": "2027-03-31",
          "per_incident_limit": "1000000", "annual_aggregate": "3000000", "deductible": "0"}


@pytest.fixture
def admin(login, world):
    return login(world.emails["admin"])


def secret_on(page):
    match = re.search(r'<code class="webhook-secret">([^<]+)</code>', page.text)
    return match.group(1) if match else None


def stored(app, model, **where):
    with app.app_context():
        row = db.session.scalars(select(model).filter_by(**where)).first()
        if row is not None:
            db.session.expunge(row)
        db.session.remove()
    return row


def test_the_policies_page_links_to_the_insurers_and_a_new_policy(admin):
    page = admin.get("/admin/policies")
    assert 'href="/admin/insurers"' in page.text and 'href="/admin/policies/new"' in page.text


def test_an_admin_adds_an_insurer_and_sees_its_secret_once(app, admin):
    token = csrf_token(admin, "/admin/insurers")
    page = admin.post("/admin/insurers", data={**INSURER, "csrf_token": token})
    assert page.status_code == 200, page.text
    row = stored(app, Insurer, code="TOKIO")
    assert secret_on(page) == row.webhook_secret
    again = admin.get(f"/admin/insurers/{row.id}")
    assert row.webhook_secret not in again.text and secret_on(again) is None
    assert "TOKIO" in admin.get("/admin/insurers").text


def test_rotating_shows_the_new_secret_once(app, admin, world):
    path = f"/admin/insurers/{world.insurer}"
    old = stored(app, Insurer, id=world.insurer).webhook_secret
    page = admin.post(f"{path}/rotate-secret", data={"csrf_token": csrf_token(admin, path)})
    assert page.status_code == 200
    new = stored(app, Insurer, id=world.insurer).webhook_secret
    assert new != old and secret_on(page) == new
    assert new not in admin.get(path).text


def test_an_admin_edits_an_insurer(app, admin, world):
    path = f"/admin/insurers/{world.insurer}"
    data = {**INSURER, "code": "EDITED", "webhook_url": "http://127.0.0.1:9000/hook"}
    response = admin.post(path, data={**data, "csrf_token": csrf_token(admin, path)})
    assert response.status_code == 302
    row = stored(app, Insurer, id=world.insurer)
    assert (row.code, row.webhook_url) == ("EDITED", "http://127.0.0.1:9000/hook")


@pytest.mark.parametrize("changes,status", [
    ({"webhook_url": "http://insurer.example/hooks"}, 422),
    ({"notice_email": "nope"}, 422),
    ({"code": ""}, 422),
    ({"code": "x y"}, 422),
])
def test_a_bad_insurer_form_is_refused_and_nothing_is_written(app, admin, changes, status):
    before = counts(app)
    token = csrf_token(admin, "/admin/insurers")
    page = admin.post("/admin/insurers", data={**INSURER, **changes, "csrf_token": token})
    assert page.status_code == status
    assert 'class="flash error"' in page.text
    assert counts(app) == before


def test_a_form_without_its_csrf_token_is_refused(app, admin, world):
    before = counts(app)
    assert admin.post("/admin/insurers", data=INSURER).status_code == 400
    old = stored(app, Insurer, id=world.insurer).webhook_secret
    assert admin.post(f"/admin/insurers/{world.insurer}/rotate-secret").status_code == 400
    assert stored(app, Insurer, id=world.insurer).webhook_secret == old
    assert counts(app) == before


def test_a_dispatcher_may_not_see_or_change_insurers(app, login, world):
    client = login(world.emails["dispatcher"])
    assert client.get("/admin/insurers").status_code == 403
    assert client.get("/admin/policies/new").status_code == 403


def test_an_admin_adds_a_portal_user(app, admin, world):
    path = f"/admin/insurers/{world.insurer}"
    data = {"email": "kato@insurer.example", "name": "加藤", "password": "correct-horse",
            "csrf_token": csrf_token(admin, path)}
    assert admin.post(f"{path}/users", data=data).status_code == 302
    user = stored(app, User, email="kato@insurer.example")
    assert (user.role, user.insurer_id) == ("insurer", world.insurer)
    assert "kato@insurer.example" in admin.get(path).text


@pytest.mark.parametrize("changes", [{"password": "short"}, {"email": "nope"},
                                     {"email": "TAKEN"}])
def test_a_bad_portal_user_is_refused_and_nothing_is_written(app, admin, world, changes):
    path = f"/admin/insurers/{world.insurer}"
    if changes.get("email") == "TAKEN":
        changes = {"email": world.emails["desk"]}
    before = counts(app)
    data = {"email": "kato@insurer.example", "name": "加藤", "password": "correct-horse",
            **changes, "csrf_token": csrf_token(admin, path)}
    page = admin.post(f"{path}/users", data=data)
    assert page.status_code in (409, 422)
    assert 'class="flash error"' in page.text
    assert counts(app) == before


def test_an_admin_creates_and_edits_a_policy(app, admin, world):
    data = {**POLICY, "insurer_id": str(world.insurer), "organization_id": str(world.org_b),
            "csrf_token": csrf_token(admin, "/admin/policies/new")}
    response = admin.post("/admin/policies/new", data=data)
    assert response.status_code == 302, response.text
    policy = stored(app, InsurancePolicy, number="CY-2026-0001")
    assert response.headers["Location"].endswith(f"/admin/policies/{policy.id}")
    path = f"/admin/policies/{policy.id}/edit"
    assert 'value="CY-2026-0001"' in admin.get(path).text
    data = {**data, "deductible": "20000", "csrf_token": csrf_token(admin, path)}
    assert admin.post(path, data=data).status_code == 302
    assert stored(app, InsurancePolicy, id=policy.id).deductible == 20_000


@pytest.mark.parametrize("changes,status", [
    ({"ends_on": "2026-03-01"}, 422),
    ({"deductible": "-5"}, 422),
    ({"annual_aggregate": "1.5"}, 422),
    ({"insurer_id": "999999"}, 422),
    ({"organization_id": "999999"}, 422),
    ({"starts_on": ""}, 422),
    ({"number": "TAKEN"}, 409),
])
def test_a_bad_policy_form_is_refused_and_nothing_is_written(app, admin, world, changes,
                                                             status):
    taken = stored(app, InsurancePolicy, organization_id=world.org_a).number
    if changes.get("number") == "TAKEN":
        changes = {"number": taken}
    before = counts(app)
    data = {**POLICY, "insurer_id": str(world.insurer), "organization_id": str(world.org_b),
            **changes, "csrf_token": csrf_token(admin, "/admin/policies/new")}
    page = admin.post("/admin/policies/new", data=data)
    assert page.status_code == status
    assert 'class="flash error"' in page.text
    assert counts(app) == before
