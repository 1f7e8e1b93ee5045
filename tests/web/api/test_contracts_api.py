"""The contract API: admins write, desk and dispatchers read; refusals carry the reason."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Contract
from tests.web.api.test_incidents_api import assert_error

NETWORK = {"plan": "network", "monthly_fee": 10_000, "starts_on": "2026-04-01"}


def count(app):
    with app.app_context():
        rows = db.session.scalar(select(func.count(Contract.id)))
        db.session.remove()
    return rows


def patch(api, path, body):
    return api.client.patch(path, json=body, headers=api._headers())


@pytest.fixture
def admin(api):
    return api("admin")


def test_an_admin_creates_a_contract_at_the_cap_and_reads_it_back(admin, world):
    created = admin.post(f"/api/v1/organizations/{world.org_b}/contracts", json=NETWORK)
    assert created.status_code == 201, created.text
    assert created.json["monthly_fee"] == 10_000 and created.json["service_class"] == 1
    shown = admin.get(f"/api/v1/contracts/{created.json['id']}").json
    assert shown == created.json
    listed = admin.get(f"/api/v1/organizations/{world.org_b}/contracts").json["items"]
    assert [c["id"] for c in listed] == [created.json["id"]]


def test_a_class_1_contract_over_the_cap_is_refused_with_the_cap_and_nothing_written(
        app, admin, world):
    before = count(app)
    answer = admin.post(f"/api/v1/organizations/{world.org_b}/contracts",
                        json={**NETWORK, "plan": "combined", "devices": 50,
                              "monthly_fee": 110_001})
    assert_error(answer, 422, "validation_error")
    assert answer.json["error"]["details"] == {"field": "monthly_fee",
                                               "reason": "over_price_cap", "cap": 110_000}
    assert count(app) == before


def test_a_class_2_contract_needs_an_addition(app, admin, world):
    path = f"/api/v1/organizations/{world.org_b}/contracts"
    before = count(app)
    answer = admin.post(path, json={**NETWORK, "service_class": 2, "monthly_fee": 50_000})
    assert_error(answer, 422, "validation_error")
    assert answer.json["error"]["details"]["reason"] == "class_2_requirement_missing"
    assert count(app) == before
    accepted = admin.post(path, json={**NETWORK, "service_class": 2, "monthly_fee": 50_000,
                                      "added_monitoring": "CASB"})
    assert accepted.status_code == 201, accepted.text


def test_a_patch_is_checked_as_a_whole(app, admin, world):
    created = admin.post(f"/api/v1/organizations/{world.org_b}/contracts", json=NETWORK).json
    path = f"/api/v1/contracts/{created['id']}"
    answer = patch(admin, path, {"monthly_fee": 10_001})
    assert answer.json["error"]["details"]["reason"] == "over_price_cap"
    assert admin.get(path).json["monthly_fee"] == 10_000
    assert patch(admin, path, {"ends_on": "2026-04-01"}).json["error"]["details"]["reason"] \
        == "ends_before_start"
    assert patch(admin, path, {"monthly_fee": None}).status_code == 422
    changed = patch(admin, path, {"monthly_fee": 9_000, "ends_on": "2027-03-31"})
    assert changed.status_code == 200, changed.text
    assert (changed.json["monthly_fee"], changed.json["ends_on"]) == (9_000, "2027-03-31")


@pytest.mark.parametrize("body", [
    {**NETWORK, "monthly_fee": -1}, {**NETWORK, "monthly_fee": 1.5},
    {**NETWORK, "monthly_fee": "100"}, {**NETWORK, "devices": 0},
    {**NETWORK, "plan": "cloud"}, {**NETWORK, "colour": "blue"},
])
def test_bad_input_is_refused_and_nothing_written(app, admin, world, body):
    before = count(app)
    answer = admin.post(f"/api/v1/organizations/{world.org_b}/contracts", json=body)
    assert answer.status_code == 422, answer.text
    assert count(app) == before


@pytest.mark.parametrize("role", ["desk", "dispatcher"])
def test_the_desk_and_dispatchers_read_but_do_not_write(app, api, world, role):
    reader = api(role)
    items = reader.get(f"/api/v1/organizations/{world.org_a}/contracts").json["items"]
    assert items and reader.get(f"/api/v1/contracts/{items[0]['id']}").status_code == 200
    before = count(app)
    assert_error(reader.post(f"/api/v1/organizations/{world.org_b}/contracts", json=NETWORK),
                 403, "forbidden")
    assert_error(patch(reader, f"/api/v1/contracts/{items[0]['id']}", {"monthly_fee": 1}),
                 403, "forbidden")
    assert count(app) == before


def test_customers_see_no_contracts_and_unknown_ids_are_404(api, world):
    assert_error(api("customer").get(f"/api/v1/organizations/{world.org_a}/contracts"),
                 403, "forbidden")
    assert_error(api("admin").get("/api/v1/contracts/999999"), 404, "not_found")
    assert_error(api("admin").get("/api/v1/organizations/999999/contracts"), 404, "not_found")


def test_the_sla_targets_and_alert_policy_are_created_shown_and_default(admin, world):
    path = f"/api/v1/organizations/{world.org_b}/contracts"
    plain = admin.post(path, json=NETWORK).json
    assert (plain["sla_acknowledge_minutes"], plain["sla_claim_business_days"],
            plain["alert_incident_severities"]) == (30, 10, None)
    custom = admin.post(path, json={**NETWORK, "sla_acknowledge_minutes": 1440,
                                    "sla_claim_business_days": 90,
                                    "alert_incident_severities": ["medium", "critical"]})
    assert custom.status_code == 201, custom.text
    shown = admin.get(f"/api/v1/contracts/{custom.json['id']}").json
    assert (shown["sla_acknowledge_minutes"], shown["sla_claim_business_days"],
            shown["alert_incident_severities"]) == (1440, 90, ["critical", "medium"])
    none = admin.post(path, json={**NETWORK, "alert_incident_severities": []}).json
    assert none["alert_incident_severities"] == []


def test_a_patch_sets_the_alert_policy_back_to_the_default_with_null(admin, world):
    created = admin.post(f"/api/v1/organizations/{world.org_b}/contracts",
                         json={**NETWORK, "alert_incident_severities": ["low"]}).json
    path = f"/api/v1/contracts/{created['id']}"
    assert patch(admin, path, {"alert_incident_severities": None}).json[
        "alert_incident_severities"] is None
    changed = patch(admin, path, {"alert_incident_severities": ["high"],
                                  "sla_claim_business_days": 5})
    assert (changed.json["alert_incident_severities"], changed.json["sla_claim_business_days"],
            changed.json["sla_acknowledge_minutes"]) == (["high"], 5, 30)


@pytest.mark.parametrize("changes", [
    {"sla_acknowledge_minutes": 0}, {"sla_acknowledge_minutes": 1441},
    {"sla_acknowledge_minutes": "30"}, {"sla_acknowledge_minutes": None},
    {"sla_claim_business_days": 0}, {"sla_claim_business_days": 91},
    {"sla_claim_business_days": 1.5}, {"alert_incident_severities": "critical"},
    {"alert_incident_severities": ["urgent"]}, {"alert_incident_severities": [1]},
])
def test_bad_sla_targets_and_alert_policies_are_422_and_change_nothing(app, admin, world,
                                                                       changes):
    before = count(app)
    answer = admin.post(f"/api/v1/organizations/{world.org_b}/contracts",
                        json={**NETWORK, **changes})
    assert_error(answer, 422, "validation_error")
    assert count(app) == before
    created = admin.post(f"/api/v1/organizations/{world.org_b}/contracts", json=NETWORK).json
    path = f"/api/v1/contracts/{created['id']}"
    assert_error(patch(admin, path, changes), 422, "validation_error")
    assert admin.get(path).json == created
