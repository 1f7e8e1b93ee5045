"""PUT /api/v1/contracts/{id}/alert-policy: admins set a contract's noise policy (excluded
rule groups and levels, Wazuh level overrides); it applies to the next batch; bad values are
422 and change nothing; other roles are refused."""

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AdminChange, Contract, Organization
from app.services.monitoring import ingest as service
from tests.web.api.test_incidents_api import assert_error


@pytest.fixture
def contract_id(app, world):
    with app.app_context():
        found = db.session.scalar(select(Contract.id).where(
            Contract.organization_id == world.org_a))
        db.session.remove()
    return found


def stored_policy(app, contract_id):
    with app.app_context():
        policy = db.session.get(Contract, contract_id).alert_policy
        db.session.remove()
    return policy


def put(api, role, contract_id, policy):
    """PUT the policy as the role's user (the shared ApiClient speaks GET and POST only)."""
    user = api(role)
    return user.client.put(f"/api/v1/contracts/{contract_id}/alert-policy",
                           json={"alert_policy": policy}, headers=user._headers())


def test_an_admin_sets_the_policy_and_the_next_batch_follows_it(app, api, client, world,
                                                                  contract_id):
    response = put(api, "admin", contract_id, {
        "exclude_groups": ["sca", " sca ", "syscheck"], "wazuh_levels": {"12": "high",
                                                                          "3": "medium"}})
    assert response.status_code == 200, response.text
    expected = {"exclude_groups": ["sca", "syscheck"], "wazuh_levels": {"3": "medium",
                                                                        "12": "high"}}
    assert response.json == {"contract_id": contract_id, "alert_policy": expected}
    assert stored_policy(app, contract_id) == expected
    with app.app_context():
        key = service.create_ingest_key(db.session.get(Organization, world.org_a))
        assert db.session.scalar(select(AdminChange.id).where(
            AdminChange.kind == "contract")) is not None
        db.session.remove()
    alert = {"timestamp": "2026-12-06T10:00:00+09:00", "agent": {"name": "pc-01"},
             "manager": {"name": "m"},
             "rule": {"level": 12, "description": "Windows app error", "id": "60602",
                      "groups": ["windows", "windows_application"]}}
    answer = client.post("/api/v1/alerts", data=json.dumps(alert), content_type="application/json",
                         headers={"Authorization": f"Bearer {key}"})
    assert answer.json["incidents_created"] == 1  # windows_application no longer excluded
    detail = api("desk").get(f"/api/v1/alerts/{answer.json['alerts'][0]['id']}").json
    assert detail["severity"] == "high"  # level 12 remapped


def test_null_goes_back_to_the_defaults(app, api, contract_id):
    put(api, "admin", contract_id, {"exclude_levels": [3]})
    assert put(api, "admin", contract_id, None).json["alert_policy"] is None
    assert stored_policy(app, contract_id) is None


@pytest.mark.parametrize("policy", [
    {"exclude_levels": [17]},
    {"exclude_levels": ["high"]},
    {"wazuh_levels": {"x": "high"}},
    {"wazuh_levels": {"9": "urgent"}},
    {"exclude_groups": [""]},
    {"exclude_groups": ["x" * 65]},
    {"exclude_groups": "sca"},
    {"colour": "blue"},
])
def test_a_bad_policy_is_422_and_changes_nothing(app, api, contract_id, policy):
    assert_error(put(api, "admin", contract_id, policy), 422, "validation_error")
    assert stored_policy(app, contract_id) is None


@pytest.mark.parametrize(("role", "status", "code"), [
    ("desk", 403, "forbidden"), ("dispatcher", 403, "forbidden"), ("customer", 403, "forbidden")])
def test_only_admins_may_set_it(app, api, contract_id, role, status, code):
    assert_error(put(api, role, contract_id, {"exclude_levels": [3]}), status, code)
    assert stored_policy(app, contract_id) is None


def test_an_unknown_contract_is_404(api):
    assert_error(put(api, "admin", 999_999, None), 404, "not_found")
