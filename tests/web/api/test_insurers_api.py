"""The insurer API (admin): insurers, secret rotation, portal users, creating/editing policies."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import InsurancePolicy, Insurer, User
from tests.web.api.test_incidents_api import assert_error

INSURER = {"code": "tokio", "name": "東京損保", "notice_email": "notice@insurer.example",
           "webhook_url": "https://insurer.example/hooks"}
POLICY = {"number": "CY-2026-0001", "starts_on": "2026-04-01", "ends_on": "2027-03-31",
          "per_incident_limit": 1_000_000, "annual_aggregate": 3_000_000, "deductible": 0}


def counts(app):
    with app.app_context():
        rows = tuple(db.session.scalar(select(func.count()).select_from(m))
                     for m in (Insurer, User, InsurancePolicy))
        db.session.remove()
    return rows


def patch(api, path, body):
    return api.client.patch(path, json=body, headers=api._headers())


@pytest.fixture
def admin(api):
    return api("admin")


def test_an_admin_creates_an_insurer_and_sees_the_secret_only_once(admin):
    created = admin.post("/api/v1/insurers", json=INSURER)
    assert created.status_code == 201, created.text
    assert created.json["code"] == "TOKIO" and len(created.json["webhook_secret"]) >= 43
    shown = admin.get(f"/api/v1/insurers/{created.json['id']}").json
    assert "webhook_secret" not in shown and shown["has_webhook_secret"] is True
    listed = admin.get("/api/v1/insurers").json["items"]
    assert "TOKIO" in [i["code"] for i in listed]
    assert all("webhook_secret" not in i for i in listed)


def test_rotating_gives_a_new_secret(app, admin):
    created = admin.post("/api/v1/insurers", json=INSURER).json
    rotated = admin.post(f"/api/v1/insurers/{created['id']}/rotate-secret", json={})
    assert rotated.status_code == 200, rotated.text
    assert rotated.json["webhook_secret"] != created["webhook_secret"]
    with app.app_context():
        assert db.session.get(Insurer, created["id"]).webhook_secret == \
            rotated.json["webhook_secret"]
        db.session.remove()


def test_patch_changes_only_the_fields_sent(admin):
    created = admin.post("/api/v1/insurers", json=INSURER).json
    changed = patch(admin, f"/api/v1/insurers/{created['id']}", {"name": "新東京損保"})
    assert changed.status_code == 200, changed.text
    assert (changed.json["name"], changed.json["webhook_url"]) == \
        ("新東京損保", INSURER["webhook_url"])


@pytest.mark.parametrize("body,status,code", [
    ({**INSURER, "webhook_url": "http://insurer.example/"}, 422, "validation_error"),
    ({**INSURER, "notice_email": "nope"}, 422, "validation_error"),
    ({**INSURER, "code": "x y"}, 422, "validation_error"),
    ({**INSURER, "webhook_secret": "mine"}, 422, "validation_error"),
    ({**INSURER, "webhook_url": "https://a.example/" + "x" * 240}, 422, "validation_error"),
    ({"name": "no code"}, 422, "validation_error"),
])
def test_a_bad_insurer_is_refused_and_nothing_is_written(app, admin, body, status, code):
    before = counts(app)
    assert_error(admin.post("/api/v1/insurers", json=body), status, code)
    assert counts(app) == before


def test_a_taken_code_is_a_conflict(app, admin, world):
    with app.app_context():
        taken = db.session.get(Insurer, world.insurer).code
        db.session.remove()
    before = counts(app)
    assert_error(admin.post("/api/v1/insurers", json={**INSURER, "code": taken}), 409,
                 "conflict")
    assert counts(app) == before


def test_a_null_in_a_patch_is_refused(app, admin, world):
    assert_error(patch(admin, f"/api/v1/insurers/{world.insurer}", {"name": None}), 422,
                 "validation_error")


@pytest.mark.parametrize("role", ["dispatcher", "desk", "insurer", "customer", "technician"])
def test_other_roles_may_not_read_or_write(app, api, world, role):
    client = api(role)
    before = counts(app)
    assert_error(client.get("/api/v1/insurers"), 403, "forbidden")
    assert_error(client.post("/api/v1/insurers", json=INSURER), 403, "forbidden")
    assert_error(client.post(f"/api/v1/insurers/{world.insurer}/rotate-secret", json={}),
                 403, "forbidden")
    assert_error(client.post("/api/v1/policies", json={**POLICY, "insurer_id": world.insurer,
                                                       "organization_id": world.org_a}),
                 403, "forbidden")
    assert_error(client.get("/api/v1/policies"), 403, "forbidden")
    assert counts(app) == before


def test_an_admin_adds_a_portal_user_who_can_log_in(client, admin, world, login):
    user = {"email": "kato@insurer.example", "name": "加藤", "password": "correct-horse"}
    created = admin.post(f"/api/v1/insurers/{world.insurer}/users", json=user)
    assert created.status_code == 201, created.text
    assert (created.json["role"], created.json["insurer_id"]) == ("insurer", world.insurer)
    assert "password" not in created.json
    emails = [u["email"] for u in admin.get(f"/api/v1/insurers/{world.insurer}/users")
              .json["items"]]
    assert "kato@insurer.example" in emails
    login("kato@insurer.example", "correct-horse")
    assert client.get("/insurer/").status_code == 200


@pytest.mark.parametrize("body,status,code", [
    ({"email": "kato@insurer.example", "name": "加藤", "password": "short"}, 422,
     "validation_error"),
    ({"email": "not-an-address", "name": "加藤", "password": "long-enough-1"}, 422,
     "validation_error"),
    ({"email": "kato@insurer.example", "name": "加藤", "password": "long-enough-1",
      "role": "admin"}, 422, "validation_error"),
])
def test_a_bad_portal_user_is_refused_and_nothing_is_written(app, admin, world, body, status,
                                                             code):
    before = counts(app)
    assert_error(admin.post(f"/api/v1/insurers/{world.insurer}/users", json=body), status,
                 code)
    assert counts(app) == before


def test_an_existing_e_mail_is_a_conflict(app, admin, world):
    before = counts(app)
    body = {"email": world.emails["desk"].upper(), "name": "X", "password": "long-enough-1"}
    assert_error(admin.post(f"/api/v1/insurers/{world.insurer}/users", json=body), 409,
                 "conflict")
    assert counts(app) == before


def test_an_unknown_insurer_is_not_found(admin):
    assert_error(admin.get("/api/v1/insurers/999999"), 404, "not_found")
    assert_error(admin.get("/api/v1/insurers/999999/users"), 404, "not_found")


def test_an_admin_creates_lists_and_edits_a_policy(admin, world):
    body = {**POLICY, "insurer_id": world.insurer, "organization_id": world.org_b}
    created = admin.post("/api/v1/policies", json=body)
    assert created.status_code == 201, created.text
    assert created.json["ends_on"] == "2027-03-31"
    policy_id = created.json["id"]
    assert policy_id in [p["id"] for p in admin.get("/api/v1/policies").json["items"]]
    changed = patch(admin, f"/api/v1/policies/{policy_id}", {"deductible": 30_000})
    assert changed.status_code == 200, changed.text
    assert admin.get(f"/api/v1/policies/{policy_id}").json["deductible"] == 30_000
    assert admin.get(f"/api/v1/policies/{policy_id}/terms").json["heads"] == {}


@pytest.mark.parametrize("changes,status,code", [
    ({"ends_on": "2026-03-31"}, 422, "validation_error"),
    ({"ends_on": "2026-04-01"}, 422, "validation_error"),
    ({"deductible": -1}, 422, "validation_error"),
    ({"deductible": "100"}, 422, "validation_error"),
    ({"per_incident_limit": 1.5}, 422, "validation_error"),
    ({"per_incident_limit": 9_000_000}, 422, "validation_error"),
    ({"insurer_id": 999_999}, 422, "validation_error"),
    ({"organization_id": 999_999}, 422, "validation_error"),
    ({"starts_on": "April"}, 422, "validation_error"),
    ({"number": "POL-TAKEN"}, 409, "conflict"),
])
def test_a_bad_policy_is_refused_and_nothing_is_written(app, admin, world, changes, status,
                                                        code):
    base = {**POLICY, "insurer_id": world.insurer, "organization_id": world.org_b}
    assert admin.post("/api/v1/policies", json={**base, "number": "POL-TAKEN"}).status_code \
        == 201
    before = counts(app)
    assert_error(admin.post("/api/v1/policies", json={**base, **changes}), status, code)
    assert counts(app) == before


def test_a_bad_policy_edit_changes_nothing(app, admin, world):
    body = {**POLICY, "insurer_id": world.insurer, "organization_id": world.org_b}
    policy_id = admin.post("/api/v1/policies", json=body).json["id"]
    assert_error(patch(admin, f"/api/v1/policies/{policy_id}",
                       {"deductible": 5, "starts_on": "2028-01-01"}), 422, "validation_error")
    assert admin.get(f"/api/v1/policies/{policy_id}").json == \
        admin.get(f"/api/v1/policies/{policy_id}").json | {"deductible": 0,
                                                          "starts_on": "2026-04-01"}
