"""What the insurer is told of the response: the triage steps done and the notes the desk
shared, in the early notice, the claim documents and the API; never a note kept back."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from app.domain.triage import CHECKLISTS
from app.extensions import db
from app.models import Claim, ClaimPacket, Dispatch, InsurerNotice, Notification, Organization
from app.services.claims.packets import packet_path
from app.services.dispatch import visits as dispatch
from app.services.incidents.lifecycle import fire_trigger
from app.services.incidents.notes import add_note
from app.services.incidents.triage import record_check
from app.testkit import factories
from tests.scenes.claims import (  # noqa: F401  (claim_files is a fixture)
    T0,
    claim_files,
    integrate_insurer,
    ready_to_submit,
    user,
)

pytestmark = pytest.mark.usefixtures("claim_files")

SHARED = "端末をLANから外したことをお客様と確認済み"
KEPT = "社内メモ: 担当者の携帯は夜間つながらない"
ISOLATE = dict(CHECKLISTS["malware"])["isolate"]


def triaged_and_accepted(world):
    """Org A's incident: isolate ticked, one note shared and one kept, then dispatched and
    accepted (the early notice goes out)."""
    desk = user(world, "desk")
    org = db.session.get(Organization, world.org_a)
    incident = factories.make_incident(org, state="triaging", category="malware")
    record_check(incident.id, desk, "isolate", True, now=T0)
    add_note(incident.id, desk, SHARED, share_with_insurer=True, now=T0 + timedelta(minutes=1))
    add_note(incident.id, desk, KEPT, now=T0 + timedelta(minutes=2))
    fire_trigger(incident.id, "request_dispatch", desk, now=T0 + timedelta(minutes=3))
    offered = db.session.scalars(select(Dispatch).where(
        Dispatch.incident_id == incident.id, Dispatch.state == "offered")).one()
    role = "technician" if offered.technician_id == world.technician else "other_technician"
    dispatch.accept(offered.id, user(world, role), now=T0 + timedelta(minutes=5))
    return incident.id


def test_the_early_notice_lists_the_isolation_and_the_shared_note_only(ctx, world):
    integrate_insurer(world, webhook=False)
    incident_id = triaged_and_accepted(world)
    [mail] = db.session.scalars(select(Notification).where(
        Notification.incident_id == incident_id,
        Notification.template == "insurer_early_notice")).all()
    with force_locale("ja"):
        isolated = f"確認済み: {ISOLATE}"
    assert isolated in mail.body
    assert SHARED in mail.body and KEPT not in mail.body
    assert "offered" not in mail.body and "T0" not in mail.body
    notice = db.session.scalars(select(InsurerNotice).where(
        InsurerNotice.incident_id == incident_id)).one()
    steps = notice.payload["actions"]
    [tick] = [s for s in steps if s["kind"] == "triage_check"]
    assert (tick["data"], tick["text"]) == ({"item": "isolate", "checked": True}, isolated)
    assert [s["note"] for s in steps if s["kind"] == "note"] == [SHARED]
    assert KEPT not in json.dumps(notice.payload, ensure_ascii=False)


def test_the_insurer_reads_the_shared_note_and_never_the_kept_one(app, world, api):
    with app.app_context():
        integrate_insurer(world, webhook=False)
        incident_id = triaged_and_accepted(world)
        db.session.remove()
    notes = lambda role: [e["note"] for e in api(role).get(  # noqa: E731
        f"/api/v1/incidents/{incident_id}").json["timeline"] if e["kind"] == "note"]
    assert notes("insurer") == [SHARED]
    assert notes("desk") == [SHARED, KEPT]
    ja = api("insurer").get(f"/api/v1/incidents/{incident_id}").json["timeline"]
    en = api("insurer").get(f"/api/v1/incidents/{incident_id}?lang=en").json["timeline"]
    accepted = [(j["text"], e["text"]) for j, e in zip(ja, en, strict=True)
                if j["trigger"] == "assign_technician"]
    assert accepted and accepted[0][0].endswith("が駆付けを受諾しました")
    assert accepted[0][1].startswith("Technician ") and accepted[0][1].endswith(
        " accepted the dispatch")


def test_a_note_is_shared_through_the_api_only_when_asked(app, world, api):
    with app.app_context():
        incident_id = triaged_and_accepted(world)
        db.session.remove()
    desk = api("desk")
    assert desk.post(f"/api/v1/incidents/{incident_id}/notes",
                     json={"note": "共有する", "share_with_insurer": True}).status_code == 201
    assert desk.post(f"/api/v1/incidents/{incident_id}/notes",
                     json={"note": "共有しない"}).status_code == 201
    refused = desk.post(f"/api/v1/incidents/{incident_id}/notes",
                        json={"note": "x", "share_with_insurer": "maybe"})
    assert refused.status_code == 422
    customer = api("customer").post(f"/api/v1/incidents/{incident_id}/notes",
                                    json={"note": "お客様から共有", "share_with_insurer": True})
    assert customer.status_code == 403, customer.json
    timeline = api("insurer").get(f"/api/v1/incidents/{incident_id}").json["timeline"]
    assert [e["note"] for e in timeline if e["kind"] == "note"] == [SHARED, "共有する"]
    assert "お客様から共有" not in [e["note"] for e in api("desk").get(
        f"/api/v1/incidents/{incident_id}").json["timeline"]]
    assert [e["data"] for e in timeline if e["note"] == "共有する"] == [
        {"shared_with_insurer": True}]
    own = api("insurer").post(f"/api/v1/incidents/{incident_id}/notes",
                              json={"note": "保険会社のメモ"})
    assert own.status_code == 201
    assert "保険会社のメモ" in [e["note"] for e in api("insurer").get(
        f"/api/v1/incidents/{incident_id}").json["timeline"]]


def test_the_claim_documents_carry_the_shared_note_in_words_and_not_the_kept_one(ctx, world):
    incident_id = ready_to_submit(world)
    desk = user(world, "desk")
    add_note(incident_id, desk, SHARED, share_with_insurer=True, now=T0 + timedelta(hours=6))
    add_note(incident_id, desk, KEPT, now=T0 + timedelta(hours=6))
    fire_trigger(incident_id, "submit_claim", desk, now=T0 + timedelta(hours=7))
    claim = db.session.scalars(select(Claim).where(Claim.incident_id == incident_id)).one()
    packet = db.session.scalars(select(ClaimPacket).where(
        ClaimPacket.claim_id == claim.id)).one()
    with zipfile.ZipFile(packet_path(packet)) as archive:
        document = json.loads(archive.read("claim.json"))
        pdf = "\n".join(p.extract_text() for p in PdfReader(
            io.BytesIO(archive.read("claim.pdf"))).pages)
    notes = [e for e in document["timeline"] if e["kind"] == "note"]
    assert [e["note"] for e in notes] == [SHARED]
    assert notes[0]["text"] == "メモ（保険会社と共有）"
    accepted = next(e for e in document["timeline"] if e["trigger"] == "assign_technician")
    assert accepted["text"].startswith("技術者 ") and "受諾しました" in accepted["text"]
    assert {"label": "受諾の方法", "text": "技術者画面から"} in accepted["details"]
    assert KEPT not in json.dumps(document, ensure_ascii=False)
    compact = pdf.replace("\n", "")
    assert SHARED in compact and KEPT not in compact
    assert "現地での作業が完了しました" in compact and "SMS link" not in compact
