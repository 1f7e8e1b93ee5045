"""Admin contract pages: list, create and edit; refusals show the reason and change nothing."""

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Contract
from app.testkit.helpers import csrf_token

FORM = {"plan": "endpoint", "service_class": "1", "devices": "50", "monthly_fee": "100000",
        "onsite_support": "y", "starts_on": "2026-04-01", "ends_on": "", "desk_hours": "24h",
        "sla_first_response_minutes": "30", "sla_onsite_minutes": "1440",
        "sla_acknowledge_minutes": "30", "sla_claim_business_days": "10",
        "alert_policy": "default", "policy_id": "", "added_monitoring": "", "monthly_service": ""}


def contracts_of(app, organization_id):
    with app.app_context():
        rows = [(c.plan, c.service_class, c.devices, c.monthly_fee) for c in db.session.scalars(
            select(Contract).where(Contract.organization_id == organization_id))]
        db.session.remove()
    return rows


def count(app):
    with app.app_context():
        rows = db.session.scalar(select(func.count(Contract.id)))
        db.session.remove()
    return rows


@pytest.fixture
def admin(login, world):
    return login(world.emails["admin"])


def post_new(client, organization_id, **changes):
    path = f"/admin/organizations/{organization_id}/contracts/new"
    return client.post(path, data={**FORM, **changes, "csrf_token": csrf_token(client, path)})


def test_the_index_links_to_each_organizations_contracts(admin, world):
    page = admin.get("/admin/contracts")
    assert f'href="/admin/organizations/{world.org_b}/contracts"' in page.text


def test_an_admin_adds_a_contract_at_the_endpoint_cap(app, admin, world):
    answer = post_new(admin, world.org_b)
    assert answer.status_code == 302, answer.text
    assert contracts_of(app, world.org_b) == [("endpoint", 1, 50, 100_000)]
    page = admin.get(f"/admin/organizations/{world.org_b}/contracts")
    assert "¥100,000" in page.text


def test_one_yen_over_the_cap_is_refused_with_the_reason(app, admin, world):
    before = count(app)
    answer = post_new(admin, world.org_b, monthly_fee="100001")
    assert answer.status_code == 422
    assert "at most 100000 yen" in answer.text
    assert count(app) == before


def test_a_class_2_contract_without_additions_is_refused_and_with_casb_accepted(
        app, admin, world):
    before = count(app)
    refused = post_new(admin, world.org_b, service_class="2", monthly_fee="200000")
    assert refused.status_code == 422 and "CASB/SASE" in refused.text
    assert count(app) == before
    accepted = post_new(admin, world.org_b, service_class="2", monthly_fee="200000",
                        added_monitoring="CASB")
    assert accepted.status_code == 302, accepted.text
    assert contracts_of(app, world.org_b) == [("endpoint", 2, 50, 200_000)]


@pytest.mark.parametrize("changes", [
    {"devices": "0"}, {"monthly_fee": "-1"}, {"monthly_fee": "1.5"}, {"ends_on": "2026-04-01"},
    {"plan": "cloud"}, {"sla_acknowledge_minutes": "0"}, {"sla_acknowledge_minutes": "1441"},
    {"sla_acknowledge_minutes": ""}, {"sla_claim_business_days": "0"},
    {"sla_claim_business_days": "91"}, {"alert_policy": "sometimes"}, {"alert_policy": ""},
    {"alert_policy": "custom", "alert_incident_severities": ["critical", "urgent"]}])
def test_bad_input_is_refused_and_nothing_written(app, admin, world, changes):
    before = count(app)
    assert post_new(admin, world.org_b, **changes).status_code == 422
    assert count(app) == before


def test_an_edit_is_checked_as_a_whole(app, admin, world):
    post_new(admin, world.org_b)
    with app.app_context():
        contract_id = db.session.scalar(select(Contract.id).where(
            Contract.organization_id == world.org_b))
        db.session.remove()
    path = f"/admin/contracts/{contract_id}/edit"
    refused = admin.post(path, data={**FORM, "devices": "49", "csrf_token": csrf_token(admin,
                                                                                      path)})
    assert refused.status_code == 422
    assert contracts_of(app, world.org_b) == [("endpoint", 1, 50, 100_000)]
    saved = admin.post(path, data={**FORM, "devices": "49", "monthly_fee": "98000",
                                   "csrf_token": csrf_token(admin, path)})
    assert saved.status_code == 302
    assert contracts_of(app, world.org_b) == [("endpoint", 1, 49, 98_000)]


def test_a_dispatcher_reads_contracts_but_cannot_add_or_edit(app, login, world):
    client = login(world.emails["dispatcher"])
    page = client.get(f"/admin/organizations/{world.org_a}/contracts")
    assert page.status_code == 200 and "/edit" not in page.text
    assert client.get(f"/admin/organizations/{world.org_a}/contracts/new").status_code == 403
    before = count(app)
    answer = client.post(f"/admin/organizations/{world.org_a}/contracts/new", data=FORM)
    assert answer.status_code in (400, 403)
    assert count(app) == before



def policies_of(app, organization_id):
    """(acknowledge minutes, claim business days, alert severities) of each contract."""
    with app.app_context():
        rows = [(c.sla_acknowledge_minutes, c.sla_claim_business_days,
                 c.alert_incident_severities) for c in db.session.scalars(
            select(Contract).where(Contract.organization_id == organization_id))]
        db.session.remove()
    return rows


@pytest.mark.parametrize(("changes", "stored"), [
    ({}, (30, 10, None)),
    ({"alert_policy": "default", "alert_incident_severities": ["low"]}, (30, 10, None)),
    ({"alert_policy": "custom", "alert_incident_severities": ["medium", "critical"]},
     (30, 10, ["critical", "medium"])),
    ({"alert_policy": "custom"}, (30, 10, [])),
    ({"sla_acknowledge_minutes": "1440", "sla_claim_business_days": "90"}, (1440, 90, None)),
    ({"sla_acknowledge_minutes": "1", "sla_claim_business_days": "1"}, (1, 1, None)),
])
def test_the_sla_targets_and_the_alert_policy_are_saved(app, admin, world, changes, stored):
    assert post_new(admin, world.org_b, **changes).status_code == 302
    assert policies_of(app, world.org_b) == [stored]


def test_the_list_shows_the_targets_and_each_alert_policy(app, admin, world):
    post_new(admin, world.org_b)
    post_new(admin, world.org_b, alert_policy="custom", sla_acknowledge_minutes="45",
             sla_claim_business_days="20", alert_incident_severities=["critical", "medium"])
    post_new(admin, world.org_b, alert_policy="custom")
    page = admin.get(f"/admin/organizations/{world.org_b}/contracts?lang=en").text
    cells = re.findall(r'<td class="alert-policy">([^<]*)</td>', page)
    assert cells == ["The default: Critical, High", "Critical, Medium", "None (reports only)"]
    assert "45 min" in page and "20 business days" in page


def test_the_edit_form_shows_the_saved_policy(app, admin, world):
    post_new(admin, world.org_b, alert_policy="custom", alert_incident_severities=["high"],
             sla_acknowledge_minutes="15")
    with app.app_context():
        contract_id = db.session.scalar(select(Contract.id).where(
            Contract.organization_id == world.org_b))
        db.session.remove()
    form = admin.get(f"/admin/contracts/{contract_id}/edit").text
    assert re.search(r'<input checked[^>]*value="custom"', form)
    assert re.search(r'<input checked[^>]*value="high"', form)
    assert not re.search(r'<input checked[^>]*value="critical"', form)
    assert 'name="sla_acknowledge_minutes" required type="number" value="15"' in form


def test_an_edit_back_to_the_default_policy_stores_null(app, admin, world):
    post_new(admin, world.org_b, alert_policy="custom")
    with app.app_context():
        contract_id = db.session.scalar(select(Contract.id).where(
            Contract.organization_id == world.org_b))
        db.session.remove()
    path = f"/admin/contracts/{contract_id}/edit"
    saved = admin.post(path, data={**FORM, "csrf_token": csrf_token(admin, path)})
    assert saved.status_code == 302
    assert policies_of(app, world.org_b) == [(30, 10, None)]


def test_an_admin_sees_the_link_to_the_ingest_keys(admin, world):
    page = admin.get(f"/admin/organizations/{world.org_a}/contracts")
    assert f'href="/admin/organizations/{world.org_a}/ingest-keys"' in page.text


def test_an_acknowledgement_target_over_a_day_is_refused_naming_the_field(app, admin, world):
    path = f"/admin/organizations/{world.org_b}/contracts/new"
    answer = admin.post(path + "?lang=en", data={**FORM, "sla_acknowledge_minutes": "1441",
                                                 "csrf_token": csrf_token(admin, path)})
    assert answer.status_code == 422
    assert "Technician acknowledgement target (minutes): Number must be between 1 and 1440" \
        in answer.text
    assert count(app) == 1  # the world's contract of org A only
