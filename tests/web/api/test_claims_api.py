"""The claim endpoints: list, open, packets, verify, insurer actions, and isolation."""

import io
import zipfile
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Claim
from app.services.claims.packets import packet_path
from tests.scenes import claims as claim_scene
from tests.scenes.claims import row_counts
from tests.web.api.test_incidents_api import assert_error

claim_files, claim_id = claim_scene.claim_files, claim_scene.claim_id  # fixtures


def test_the_insurer_lists_and_opens_its_claim_with_the_computation(api, claim_id):
    listed = api("insurer").get("/api/v1/claims")
    assert listed.status_code == 200
    [item] = listed.json["items"]
    assert item["id"] == claim_id and item["state"] == "claim_submitted"
    assert (item["claimed_amount"], item["payable_amount"], item["customer_share"]) == (
        33_000, 33_000, 0)
    detail = api("insurer").get(f"/api/v1/claims/{claim_id}")
    assert detail.status_code == 200
    assert detail.json["computation"]["payable"] == 33_000
    assert [p["version"] for p in detail.json["packets"]] == [1]


def test_the_latest_packet_and_each_version_download_as_zips(app, api, claim_id):
    response = api("insurer").get(f"/api/v1/claims/{claim_id}/packet")
    data = response.get_data()
    response.close()  # send_file's handle
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {"claim.json", "claim.pdf", "manifest.json"} <= set(names)
    again = api("insurer").get(f"/api/v1/claims/{claim_id}/packets/1")
    assert again.get_data() == data
    again.close()
    assert_error(api("insurer").get(f"/api/v1/claims/{claim_id}/packets/2"), 404, "not_found")


def test_verify_says_ok_and_names_a_changed_file(app, api, claim_id):
    ok = api("insurer").post(f"/api/v1/claims/{claim_id}/verify", json={})
    assert ok.status_code == 200 and ok.json == {"version": 1, "ok": True, "problems": []}
    with app.app_context():
        path = Path(packet_path(db.session.get(Claim, claim_id).packets[0]))
        db.session.remove()
    _rewrite_member(path, "claim.json", b'{"tampered": true}')
    bad = api("insurer").post(f"/api/v1/claims/{claim_id}/verify", json={"version": 1})
    assert bad.status_code == 200 and bad.json["ok"] is False
    assert any("claim.json" in problem for problem in bad.json["problems"])


def _rewrite_member(path, name, data):
    with zipfile.ZipFile(path) as source:
        members = {n: source.read(n) for n in source.namelist()}
    members[name] = data
    with zipfile.ZipFile(path, "w") as target:
        for member, content in members.items():
            target.writestr(member, content)


def test_the_insurer_requests_information_then_approves_and_records_payment(app, api, world,
                                                                             claim_id):
    insurer = api("insurer")
    asked = insurer.post(f"/api/v1/claims/{claim_id}/actions",
                         json={"action": "request_info", "message": "見積書も必要です"})
    assert asked.status_code == 200 and asked.json["state"] == "claim_info_requested"
    resubmitted = api("desk").post(f"/api/v1/incidents/{asked.json['incident_id']}/transitions",
                                   json={"trigger": "submit_claim"})
    assert resubmitted.status_code == 200, resubmitted.json
    steps = [{"action": "acknowledge"}, {"action": "approve", "amount": 33_000},
             {"action": "record_payment", "amount": 33_000, "paid_on": "2026-12-10"}]
    for step in steps:
        response = insurer.post(f"/api/v1/claims/{claim_id}/actions", json=step)
        assert response.status_code == 200, response.json
    assert response.json["state"] == "claim_paid"
    assert (response.json["paid_amount"], response.json["paid_on"]) == (33_000, "2026-12-10")
    assert [p["version"] for p in response.json["packets"]] == [1, 2]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"action": "approve"}, 422, "validation_error"),
    ({"action": "approve", "amount": 40_000}, 422, "validation_error"),
    ({"action": "approve", "amount": "1000"}, 422, "validation_error"),
    ({"action": "deny"}, 422, "validation_error"),
    ({"action": "request_info", "message": "  "}, 422, "validation_error"),
    ({"action": "record_payment", "amount": 1, "paid_on": "2026-12-10"}, 409, "illegal_transition"),
    ({"action": "explode"}, 422, "validation_error"),
    ({"action": "approve", "amount": 1, "extra": 1}, 422, "validation_error"),
])
def test_bad_actions_are_refused_and_change_nothing(app, api, claim_id, body, status, code):
    before = row_counts(app)
    assert_error(api("insurer").post(f"/api/v1/claims/{claim_id}/actions", json=body),
                 status, code)
    assert row_counts(app) == before


@pytest.mark.parametrize("role", ["desk", "dispatcher"])
def test_staff_may_read_claims_but_not_decide_them(app, api, claim_id, role):
    assert api(role).get(f"/api/v1/claims/{claim_id}").status_code == 200
    before = row_counts(app)
    for body in ({"action": "approve", "amount": 1}, {"action": "acknowledge"}):
        assert_error(api(role).post(f"/api/v1/claims/{claim_id}/actions", json=body),
                     403, "forbidden")
    assert row_counts(app) == before


@pytest.mark.parametrize("role", ["other_insurer", "customer", "technician", "other_customer"])
def test_nobody_else_finds_the_claim_anywhere(app, api, claim_id, role):
    before = row_counts(app)
    client = api(role)
    assert client.get("/api/v1/claims").json["items"] == []
    for path in (f"/api/v1/claims/{claim_id}", f"/api/v1/claims/{claim_id}/packet",
                 f"/api/v1/claims/{claim_id}/packets/1"):
        assert_error(client.get(path), 404, "not_found")
    assert_error(client.post(f"/api/v1/claims/{claim_id}/verify", json={}), 404, "not_found")
    assert_error(client.post(f"/api/v1/claims/{claim_id}/actions",
                             json={"action": "approve", "amount": 1}), 404, "not_found")
    assert row_counts(app) == before


def test_claims_need_a_token(client, claim_id):
    assert_error(client.get("/api/v1/claims"), 401, "unauthorized")
