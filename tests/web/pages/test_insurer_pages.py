"""The insurer portal and the desk's claim section, as people use them."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import Claim
from app.services.claims import packets
from app.services.claims.packets import packet_path
from app.testkit.helpers import csrf_token
from tests.scenes import claims as claim_scene
from tests.scenes.claims import row_counts

claim_files, claim_id = claim_scene.claim_files, claim_scene.claim_id  # fixtures


def test_the_portal_lists_the_insurers_claims_and_notices(login, world, claim_id):
    client = login(world.emails["insurer"])
    page = client.get("/insurer/?lang=en")
    assert page.status_code == 200
    assert f'data-claim="{claim_id}"' in page.text and "甲商事" in page.text
    assert "notice-early_notice" in page.text and "notice-claim_submitted" in page.text


def test_the_portal_shows_the_signing_key_and_the_fingerprint_claim_pdf_prints(
        app, login, world, claim_id):
    with app.app_context():
        packet = db.session.get(Claim, claim_id).packets[0]
        public_key, path = packet.public_key, Path(packet_path(packet))
        expected = packets.key_fingerprint(public_key)
        db.session.remove()
    page = login(world.emails["insurer"]).get("/insurer/?lang=en")
    assert f'<code class="fingerprint">{expected}</code>' in page.text
    assert f'<code class="public-key">{public_key}</code>' in page.text
    assert len(expected) == 79 and expected.count(" ") == 15  # 64 hex digits in fours
    assert page.text.count('id="signing-key"') == 1  # in the page's body, not its <title>
    assert "<section" not in page.text.split("<title>")[1].split("</title>")[0]
    with zipfile.ZipFile(path) as archive:
        pdf = PdfReader(io.BytesIO(archive.read("claim.pdf")))
    text = "".join(p.extract_text() for p in pdf.pages).replace("\n", "")
    assert expected in text


def test_a_malformed_signing_key_leaves_the_portal_usable_and_says_so(
        app, login, world, claim_id, monkeypatch):
    monkeypatch.setitem(app.config, "CLAIM_SIGNING_KEY", "not base64!")
    page = login(world.emails["insurer"]).get("/insurer/?lang=en")
    assert page.status_code == 200 and f'data-claim="{claim_id}"' in page.text
    assert "not configured correctly" in page.text and 'class="fingerprint"' not in page.text


def test_the_claim_page_shows_the_computation_packets_and_decisions(login, world, claim_id):
    client = login(world.emails["insurer"])
    page = client.get(f"/insurer/claims/{claim_id}?lang=en")
    assert page.status_code == 200
    assert "¥33,000" in page.text and "customer-share" in page.text
    assert 'data-packet="1"' in page.text
    for action in ("acknowledge", "request_info", "approve", "deny"):
        assert f'data-action="{action}"' in page.text
    assert 'data-action="record_payment"' not in page.text


def test_the_portal_downloads_and_verifies_a_packet(app, login, world, claim_id):
    client = login(world.emails["insurer"])
    download = client.get(f"/insurer/claims/{claim_id}/packets/1")
    data = download.get_data()
    download.close()
    assert download.status_code == 200 and data[:2] == b"PK"
    token = csrf_token(client, f"/insurer/claims/{claim_id}")
    ok = client.post(f"/insurer/claims/{claim_id}/packets/1/verify?lang=en",
                     data={"csrf_token": token})
    assert ok.status_code == 200 and 'verify-result ok' in ok.text
    assert 'data-action="approve"' in ok.text  # the decisions stay under the check's result
    with app.app_context():
        path = Path(packet_path(db.session.get(Claim, claim_id).packets[0]))
        db.session.remove()
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("extra.txt", "added later")
    bad = client.post(f"/insurer/claims/{claim_id}/packets/1/verify?lang=en",
                      data={"csrf_token": token})
    assert 'verify-result error' in bad.text and "extra.txt" in bad.text


def test_the_insurer_decides_through_the_forms(app, login, world, claim_id):
    client = login(world.emails["insurer"])
    path = f"/insurer/claims/{claim_id}"
    token = csrf_token(client, path)
    for data in ({"action": "acknowledge"}, {"action": "approve", "amount": "30000"},
                 {"action": "record_payment", "amount": "30000", "paid_on": "2026-12-10"}):
        response = client.post(f"{path}/actions", data={"csrf_token": token, **data})
        assert response.status_code == 302
    with app.app_context():
        claim = db.session.get(Claim, claim_id)
        assert (claim.incident.state, claim.paid_amount) == ("claim_paid", 30_000)
        db.session.remove()


@pytest.mark.parametrize("data", [
    {"action": "approve"}, {"action": "approve", "amount": "abc"},
    {"action": "approve", "amount": "99999999"}, {"action": "deny"},
    {"action": "record_payment", "amount": "1", "paid_on": "2026-12-10"}, {"action": "pay"},
])
def test_a_bad_decision_is_told_and_changes_nothing(app, login, world, claim_id, data):
    client = login(world.emails["insurer"])
    path = f"/insurer/claims/{claim_id}"
    token = csrf_token(client, path)
    before = row_counts(app)
    response = client.post(f"{path}/actions", data={"csrf_token": token, **data})
    assert response.status_code == 302
    assert row_counts(app) == before
    assert 'class="flash error"' in client.get(path).text


def test_a_decision_without_csrf_changes_nothing(app, login, world, claim_id):
    client = login(world.emails["insurer"])
    before = row_counts(app)
    response = client.post(f"/insurer/claims/{claim_id}/actions",
                           data={"action": "approve", "amount": "1"})
    assert response.status_code in (302, 400)
    assert row_counts(app) == before


def test_another_insurer_gets_404_everywhere(app, login, world, claim_id, monkeypatch):
    client = login(world.emails["other_insurer"])
    page = client.get("/insurer/")
    assert f'data-claim="{claim_id}"' not in page.text and "甲商事" not in page.text
    before = row_counts(app)
    for url in (f"/insurer/claims/{claim_id}", f"/insurer/claims/{claim_id}/packets/1"):
        assert client.get(url).status_code == 404
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)  # past CSRF, to the 404
    for url in (f"/insurer/claims/{claim_id}/packets/1/verify",
                f"/insurer/claims/{claim_id}/actions"):
        assert client.post(url, data={"action": "approve", "amount": "1"}).status_code == 404
    assert row_counts(app) == before


@pytest.mark.parametrize("role", ["desk", "customer", "technician"])
def test_other_roles_may_not_open_the_portal(login, world, claim_id, role):
    client = login(world.emails[role])
    assert client.get("/insurer/").status_code == 403
    assert client.get(f"/insurer/claims/{claim_id}").status_code == 403


def test_the_desk_sees_the_claim_section_with_its_computation_and_versions(login, world,
                                                                           claim_id, app):
    client = login(world.emails["desk"])
    with app.app_context():
        incident_id = db.session.get(Claim, claim_id).incident_id
        db.session.remove()
    page = client.get(f"/desk/incidents/{incident_id}?lang=en")
    assert page.status_code == 200
    assert f'data-claim="{claim_id}"' in page.text and "¥33,000" in page.text
    assert 'data-packet="1"' in page.text


def test_the_customer_does_not_see_the_claim_section(login, world, claim_id, app):
    with app.app_context():
        incident_id = db.session.get(Claim, claim_id).incident_id
        db.session.remove()
    page = login(world.emails["customer"]).get(f"/desk/incidents/{incident_id}")
    assert f'data-claim="{claim_id}"' not in page.text


def test_the_insurer_reads_its_policys_terms_from_the_claim_page(app, login, world, claim_id):
    with app.app_context():
        policy = db.session.get(Claim, claim_id).policy
        policy_id, heads = policy.id, {c.head.code: c for c in policy.coverages}
        expected = {code: (c.payout_ratio, c.sub_limit) for code, c in heads.items()}
        limit = policy.per_incident_limit
        db.session.remove()
    client = login(world.emails["insurer"])
    claim_page = client.get(f"/insurer/claims/{claim_id}?lang=en")
    assert f'href="/insurer/policies/{policy_id}"' in claim_page.text
    page = client.get(f"/insurer/policies/{policy_id}?lang=en")
    assert page.status_code == 200 and f"¥{limit:,}" in page.text
    rows = dict(re.findall(r'<tr data-head="(\w+)">.*?<td class="num">(\d+)%</td>', page.text,
                           re.S))
    assert {code: int(ratio) for code, ratio in rows.items()} == {
        code: ratio for code, (ratio, _) in expected.items()}


def test_another_insurer_finds_no_such_policy(app, login, world, claim_id):
    with app.app_context():
        policy_id = db.session.get(Claim, claim_id).policy_id
        db.session.remove()
    client = login(world.emails["other_insurer"])
    theirs = client.get(f"/insurer/policies/{policy_id}?lang=en")
    missing = client.get("/insurer/policies/999999?lang=en")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(f"/policies/{policy_id}?", "/policies/999999?") == missing.text
