"""The organization API: admins create and change organizations and their caller-ID phones;
everyone reads only what the list shows them."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Organization, OrganizationPhone
from tests.web.api.test_concurrency import _race
from tests.web.api.test_incidents_api import assert_error

BODY = {"code": "tky-0002", "name": "株式会社東京精機", "address": "東京都港区芝公園1-1",
        "prefecture": 13, "industry": "製造業", "employees": 30,
        "phones": [{"number": "03-5555-0101", "label": "代表"}]}


def everything(app):
    """Every organization and phone row (to prove a refusal wrote nothing)."""
    with app.app_context():
        rows = (db.session.execute(select(Organization.__table__)).all(),
                db.session.execute(select(OrganizationPhone.__table__)).all())
        db.session.remove()
    return rows


def patch(client, path, body):
    return client.client.patch(path, json=body, headers=client._headers())


@pytest.fixture
def admin(api):
    return api("admin")


def test_an_admin_creates_an_organization_and_reads_it_back(admin):
    created = admin.post("/api/v1/organizations", json=BODY)
    assert created.status_code == 201, created.text
    body = created.json
    assert (body["code"], body["prefecture"], body["employees"]) == ("TKY-0002", 13, 30)
    assert [(p["number"], p["label"]) for p in body["phones"]] == [("+81355550101", "代表")]
    assert body["created_at"].endswith("Z")
    assert admin.get(f"/api/v1/organizations/{body['id']}").json == body
    listed = {o["code"]: o for o in admin.get("/api/v1/organizations").json["items"]}
    assert listed["TKY-0002"]["address"] == "東京都港区芝公園1-1"


def test_patch_changes_only_the_fields_sent_and_phones_replace_the_list(admin):
    created = admin.post("/api/v1/organizations", json=BODY).json
    path = f"/api/v1/organizations/{created['id']}"
    changed = patch(admin, path, {"employees": 45})
    assert changed.status_code == 200, changed.text
    assert changed.json == {**created, "employees": 45}
    replaced = patch(admin, path, {"phones": [{"number": "+81355550101", "label": "本社"},
                                              {"number": "090-5555-0102"}]}).json
    assert [(p["number"], p["label"]) for p in replaced["phones"]] == \
        [("+81355550101", "本社"), ("+819055550102", "")]
    assert replaced["phones"][0]["id"] == created["phones"][0]["id"]
    assert patch(admin, path, {"phones": []}).json["phones"] == []


@pytest.mark.parametrize("changes,status,code", [
    ({"prefecture": 0}, 422, "validation_error"),
    ({"prefecture": 48}, 422, "validation_error"),
    ({"prefecture": "13"}, 422, "validation_error"),
    ({"employees": -1}, 422, "validation_error"),
    ({"code": "TKY 0002"}, 422, "validation_error"),
    ({"code": "x" * 33}, 422, "validation_error"),
    ({"name": ""}, 422, "validation_error"),
    ({"colour": "red"}, 422, "validation_error"),
    ({"phones": [{"number": "not a phone"}]}, 422, "validation_error"),
    ({"phones": [{"number": "03-5555-0101"}, {"number": "+81355550101"}]}, 422,
     "validation_error"),
    ({"phones": [{"number": "03-1234-5678"}]}, 409, "phone_taken"),  # org A's number
])
def test_bad_input_is_refused_and_writes_nothing(app, admin, changes, status, code):
    before = everything(app)
    response = admin.post("/api/v1/organizations", json={**BODY, **changes})
    assert_error(response, status, code)
    assert everything(app) == before


def test_a_duplicate_code_is_a_conflict_naming_the_field(app, admin, world):
    with app.app_context():
        taken = db.session.get(Organization, world.org_a).code
    before = everything(app)
    response = admin.post("/api/v1/organizations", json={**BODY, "code": taken.lower()})
    assert_error(response, 409, "code_taken")
    assert response.json["error"]["details"] == {"field": "code"}
    assert everything(app) == before


def test_a_bad_phone_names_its_place_in_the_list(app, admin):
    response = admin.post("/api/v1/organizations", json={**BODY, "phones": [
        {"number": "03-5555-0101"}, {"number": "12345"}]})
    assert_error(response, 422, "validation_error")
    assert response.json["error"]["details"] == {"field": "phone", "reason": "invalid_phone",
                                                 "index": 1}


def test_a_phone_of_another_organization_names_it(admin, world):
    response = admin.post("/api/v1/organizations", json={
        **BODY, "phones": [{"number": "+81 3 1234 5678"}]})
    details = response.json["error"]["details"]
    assert (details["field"], details["number"]) == ("phone", "+81312345678")


@pytest.mark.parametrize("changes,status,code", [
    ({"name": None}, 422, "validation_error"),
    ({"phones": None}, 422, "validation_error"),
    ({"prefecture": 99}, 422, "validation_error"),
    ({"phones": [{"number": "03-1234-5678"}]}, 409, "phone_taken"),
    ({"code": "ORG-A-TAKEN"}, 409, "code_taken"),
])
def test_a_bad_patch_is_refused_and_writes_nothing(app, admin, changes, status, code):
    created = admin.post("/api/v1/organizations", json=BODY).json
    admin.post("/api/v1/organizations", json={**BODY, "code": "ORG-A-TAKEN", "phones": []})
    before = everything(app)
    response = patch(admin, f"/api/v1/organizations/{created['id']}",
                     {"employees": 99, **changes})
    assert_error(response, status, code)
    assert everything(app) == before


@pytest.mark.parametrize("role", ["desk", "dispatcher", "customer", "technician", "insurer"])
def test_only_an_admin_creates_or_changes_organizations(app, api, world, role):
    before = everything(app)
    assert_error(api(role).post("/api/v1/organizations", json=BODY), 403, "forbidden")
    for target in (world.org_a, 999_999):  # the same answer whether it exists or not
        assert_error(patch(api(role), f"/api/v1/organizations/{target}", {"name": "x"}),
                     403, "forbidden")
    assert everything(app) == before


def test_patching_an_unknown_organization_is_not_found(admin):
    assert_error(patch(admin, "/api/v1/organizations/999999", {"name": "x"}), 404,
                 "not_found")


def test_without_a_token_nothing_is_read_or_written(app, api, world):
    before = everything(app)
    assert_error(api(None).post("/api/v1/organizations", json=BODY), 401, "unauthorized")
    assert_error(api(None).get(f"/api/v1/organizations/{world.org_a}"), 401, "unauthorized")
    assert everything(app) == before


@pytest.mark.parametrize("role", ["desk", "dispatcher", "admin"])
def test_the_staff_read_any_organization(api, world, role):
    response = api(role).get(f"/api/v1/organizations/{world.org_b}")
    assert response.status_code == 200 and response.json["id"] == world.org_b


def test_a_customer_reads_its_own_organization_and_no_other(api, world):
    customer = api("customer")
    own = customer.get(f"/api/v1/organizations/{world.org_a}")
    assert own.status_code == 200 and own.json["phones"][0]["number"] == "+81312345678"
    other = customer.get(f"/api/v1/organizations/{world.org_b}")
    missing = customer.get("/api/v1/organizations/999999")
    assert_error(other, 404, "not_found")
    assert other.json == missing.json


@pytest.mark.parametrize("role", ["technician", "insurer"])
def test_a_technician_or_insurer_without_incidents_there_reads_no_organization(api, world,
                                                                              role):
    assert_error(api(role).get(f"/api/v1/organizations/{world.org_a}"), 404, "not_found")
    assert api(role).get("/api/v1/organizations").json["items"] == []


def test_the_openapi_document_describes_the_new_endpoints(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/organizations"])
    assert {"get", "patch"} <= set(paths["/api/v1/organizations/{organization_id}"])


def test_concurrent_creates_with_one_phone_register_it_once(app, world):
    """The check before writing cannot see a parallel request's uncommitted row: the unique
    index decides, and every loser still gets a clean 409 naming the number."""
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}

    def create(n):
        body = {**BODY, "code": f"RACE-{n}", "phones": [{"number": "03-5555-0199"}]}
        return lambda client: client.post("/api/v1/organizations", json=body, headers=headers)

    responses = _race(app, [create(n) for n in range(8)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7, [r.text for r in responses]
    assert {r.json["error"]["code"] for r in responses if r.status_code == 409} == \
        {"phone_taken"}
    with app.app_context():
        assert db.session.scalar(select(func.count(Organization.id)).where(
            Organization.code.like("RACE-%"))) == 1
        db.session.remove()
