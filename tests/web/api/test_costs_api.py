"""The cost API: lines with the payout preview, entry, approval, evidence links, the labour
line, scoping, bad input; coverage heads and policy terms for the admin."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    CostItem,
    CoverageHead,
    Dispatch,
    Evidence,
    IncidentEvent,
    InsurancePolicy,
    Organization,
    Technician,
)
from app.testkit import factories
from tests.web.api.test_incidents_api import assert_error

TODAY = date.today().isoformat()
LINE = {"head": "investigation", "description": "ログ調査", "quantity": "1.5",
        "unit_price": 20_000, "tax_rate": 10, "incurred_on": TODAY}


@pytest.fixture
def incident(app, world):
    """An on-site incident of org A held by world.technician, with one evidence file."""
    with app.app_context():
        org = db.session.get(Organization, world.org_a)
        tech = db.session.get(Technician, world.technician)
        row = factories.make_incident(org, state="on_site", technician=tech)
        db.session.add(Evidence(incident_id=row.id, kind="receipt", original_name="r.jpg",
                                stored_name=f"ev-{row.id}", content_type="image/jpeg",
                                size=1, sha256="0" * 64))
        db.session.commit()
        ids = {"id": row.id, "dispatch": row.dispatches[0].id, "evidence": row.evidence[0].id}
        db.session.remove()
    return ids


def counts(app):
    with app.app_context():
        result = (db.session.scalar(select(func.count(CostItem.id))),
                  db.session.scalar(select(func.count(IncidentEvent.id))),
                  db.session.scalar(select(func.count(CoverageHead.id))))
        db.session.remove()
    return result


def add(api, incident, role="desk", **changes):
    return api(role).post(f"/api/v1/incidents/{incident['id']}/costs", json={**LINE, **changes})


def test_a_line_is_entered_approved_and_shows_in_the_payout(api, incident):
    created = add(api, incident, evidence_ids=[incident["evidence"]])
    assert created.status_code == 201, created.json
    line = created.json
    assert (line["amount"], line["status"], line["quantity"], line["evidence_ids"]) == (
        30_000, "draft", "1.50", [incident["evidence"]])
    listed = api("desk").get(f"/api/v1/incidents/{incident['id']}/costs").json
    assert listed["computation"]["claimed_total"] == 0  # drafts are not claimed
    approved = api("dispatcher").post(f"/api/v1/costs/{line['id']}/approve", json={})
    assert approved.json["status"] == "approved"
    computation = api("desk").get(f"/api/v1/incidents/{incident['id']}/costs").json[
        "computation"]
    assert (computation["claimed_total"], computation["payable"],
            computation["customer_share"]) == (33_000, 29_700, 3_300)


def test_the_technician_enters_on_their_visit_and_fills_the_labour_line(app, api, incident):
    assert add(api, incident, "technician", head="dispatch").status_code == 201
    assert_error(add(api, incident, "other_technician"), 404, "not_found")
    with app.app_context():
        dispatch = db.session.get(Dispatch, incident["dispatch"])
        dispatch.state, dispatch.arrived_at = "completed", datetime(2026, 1, 5, 1, 0)
        dispatch.completed_at = dispatch.arrived_at + timedelta(minutes=95)
        db.session.commit()
        db.session.remove()
    labour = api("technician").post(f"/api/v1/dispatches/{incident['dispatch']}/labour", json={})
    assert labour.status_code == 201, labour.json
    assert (labour.json["quantity"], labour.json["amount"]) == ("1.75", 14_000)
    assert_error(api("technician").post(f"/api/v1/dispatches/{incident['dispatch']}/labour",
                                        json={}), 409, "conflict")


def test_only_staff_approve_and_only_the_author_edits(api, incident):
    line = add(api, incident, "technician").json
    assert_error(api("technician").post(f"/api/v1/costs/{line['id']}/approve", json={}),
                 403, "forbidden")
    client = api("technician").client
    assert_error(client.patch(f"/api/v1/costs/{line['id']}", json={"unit_price": 1},
                              headers={"Authorization": "Bearer x"}), 401, "unauthorized")
    assert_error(client.patch(f"/api/v1/costs/{line['id']}", json={"unit_price": 1},
                              headers={"Authorization": f"Bearer {api('desk').token}"}),
                 403, "forbidden")
    edited = client.patch(
        f"/api/v1/costs/{line['id']}", json={"unit_price": 10_000, "head": "recovery"},
        headers={"Authorization": f"Bearer {api('technician').token}"})
    assert (edited.json["amount"], edited.json["head"]) == (15_000, "recovery")
    rejected = api("desk").post(f"/api/v1/costs/{line['id']}/reject", json={})
    assert rejected.json["status"] == "rejected"


def test_evidence_is_linked_through_the_api(api, incident):
    line = add(api, incident).json
    linked = api("desk").post(f"/api/v1/costs/{line['id']}/evidence",
                              json={"evidence_ids": [incident["evidence"]]})
    assert linked.json["evidence_ids"] == [incident["evidence"]]
    assert_error(api("desk").post(f"/api/v1/costs/{line['id']}/evidence",
                                  json={"evidence_ids": [10**9]}), 422, "validation_error")


@pytest.mark.parametrize("changes", [
    {"head": "nope"}, {"quantity": "0"}, {"quantity": "1.005"}, {"unit_price": -1},
    {"unit_price": "100"}, {"unit_price": 1.5}, {"tax_rate": 5}, {"incurred_on": "2999-01-01"},
    {"incurred_on": "yesterday"}, {"description": ""}, {"dispatch_id": 10**9},
    {"surprise": 1}])
def test_bad_input_is_a_validation_error_and_changes_nothing(app, api, incident, changes):
    before = counts(app)
    assert_error(add(api, incident, **changes), 422, "validation_error")
    assert counts(app) == before


def test_other_tenants_see_nothing(app, api, incident):
    line = add(api, incident).json
    before = counts(app)
    for role in ("other_customer", "other_insurer", "other_technician"):
        assert_error(api(role).get(f"/api/v1/incidents/{incident['id']}/costs"), 404,
                     "not_found")
        assert_error(api(role).get(f"/api/v1/costs/{line['id']}"), 404, "not_found")
    assert_error(api("customer").post(f"/api/v1/costs/{line['id']}/approve", json={}), 403,
                 "forbidden")
    assert api("insurer").get(f"/api/v1/incidents/{incident['id']}/costs").status_code == 200
    assert counts(app) == before


def test_the_admin_adds_a_head_and_sets_a_policys_terms(app, api, world):
    head = api("admin").post("/api/v1/coverage-heads",
                             json={"code": "forensics", "name_ja": "フォレンジック費用",
                                   "name_en": "Forensics"})
    assert head.status_code == 201, head.json
    assert_error(api("admin").post("/api/v1/coverage-heads", json={
        "code": "forensics", "name_ja": "x", "name_en": "x"}), 409, "conflict")
    assert_error(api("desk").post("/api/v1/coverage-heads", json={
        "code": "other_head", "name_ja": "x", "name_en": "x"}), 403, "forbidden")
    codes = [h["code"] for h in api("desk").get("/api/v1/coverage-heads").json["items"]]
    assert "forensics" in codes and "dispatch" in codes
    with app.app_context():
        policy_id = db.session.scalar(select(InsurancePolicy.id))
        db.session.remove()
    terms = {"per_incident_limit": 2_000_000, "annual_aggregate": 5_000_000,
             "deductible": 10_000, "heads": {"dispatch": {"payout_ratio": 100,
                                                          "sub_limit": 400_000},
                                             "forensics": {"payout_ratio": 70,
                                                           "sub_limit": 800_000}}}
    client = api("admin").client
    auth = {"Authorization": f"Bearer {world.tokens['admin']}"}
    saved = client.put(f"/api/v1/policies/{policy_id}/terms", json=terms, headers=auth)
    assert saved.status_code == 200, saved.json
    assert saved.json["heads"] == terms["heads"]
    assert api("admin").get(f"/api/v1/policies/{policy_id}/terms").json["deductible"] == 10_000
    bad = {**terms, "heads": {"dispatch": {"payout_ratio": 101, "sub_limit": 1}}}
    assert_error(client.put(f"/api/v1/policies/{policy_id}/terms", json=bad, headers=auth),
                 422, "validation_error")
    assert_error(client.put(f"/api/v1/policies/{policy_id}/terms", json={
        **terms, "per_incident_limit": 9_000_000}, headers=auth), 422, "validation_error")
    assert api("admin").get(f"/api/v1/policies/{policy_id}/terms").json["heads"] == terms[
        "heads"]
    assert api("desk").get(f"/api/v1/policies/{policy_id}/terms").json["heads"] == terms[
        "heads"]
    desk_auth = {"Authorization": f"Bearer {world.tokens['desk']}"}
    assert_error(client.put(f"/api/v1/policies/{policy_id}/terms", json=terms,
                            headers=desk_auth), 403, "forbidden")


@pytest.mark.parametrize("role", ["desk", "dispatcher", "admin", "insurer"])
def test_staff_and_the_policys_own_insurer_read_its_terms(app, api, world, role):
    with app.app_context():
        policy = db.session.scalars(select(InsurancePolicy).where(
            InsurancePolicy.insurer_id == world.insurer)).first()
        policy_id, number_heads = policy.id, len(policy.coverages)
        db.session.remove()
    response = api(role).get(f"/api/v1/policies/{policy_id}/terms")
    assert response.status_code == 200, response.json
    assert response.json["id"] == policy_id and len(response.json["heads"]) == number_heads
    assert number_heads > 0


def test_another_insurer_gets_the_same_404_as_for_a_missing_policy(app, api, world):
    with app.app_context():
        policy_id = db.session.scalar(select(InsurancePolicy.id).where(
            InsurancePolicy.insurer_id == world.insurer))
        db.session.remove()
    theirs = api("other_insurer").get(f"/api/v1/policies/{policy_id}/terms")
    missing = api("other_insurer").get("/api/v1/policies/999999/terms")
    assert_error(theirs, 404, "not_found")
    assert theirs.json == missing.json


@pytest.mark.parametrize("role", ["customer", "technician"])
def test_customers_and_technicians_may_not_read_policy_terms(app, api, world, role):
    with app.app_context():
        policy_id = db.session.scalar(select(InsurancePolicy.id).where(
            InsurancePolicy.insurer_id == world.insurer))
        db.session.remove()
    assert_error(api(role).get(f"/api/v1/policies/{policy_id}/terms"), 403, "forbidden")
