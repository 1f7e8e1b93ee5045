"""Shared by the claim tests: an incident walked to a claim through the real services."""

import base64
import io
from datetime import date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Claim,
    ClaimPacket,
    Dispatch,
    Incident,
    IncidentEvent,
    Insurer,
    InsurerNotice,
    Notification,
    Organization,
    User,
)
from app.services.claims import costs, evidence
from app.services.dispatch import visits as dispatch
from app.services.incidents.lifecycle import fire_trigger
from app.testkit import factories

T0 = datetime(2026, 11, 25, 1, 0)  # 10:00 JST
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
WEBHOOK_URL = "http://127.0.0.1:9/hook"
WEBHOOK_SECRET = "whsec-test"


@pytest.fixture
def claim_files(app, tmp_path, monkeypatch):
    """Evidence and packets in the test's own folder, a signing key of the test's own."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setitem(app.config, "CLAIM_SIGNING_KEY", base64.b64encode(raw).decode())
    return tmp_path


def user(world, role):
    return db.session.get(User, world.users[role])


def integrate_insurer(world, *, webhook=True):
    """The world's insurer takes notices by e-mail and (optionally) by signed webhook."""
    insurer = db.session.get(Insurer, world.insurer)
    insurer.notice_email = "claims@insurer.example"
    if webhook:
        insurer.webhook_url, insurer.webhook_secret = WEBHOOK_URL, WEBHOOK_SECRET
    db.session.commit()
    return insurer


def accepted_incident(world, now=T0):
    """Org A's incident, dispatch requested and accepted by the offered technician."""
    org = db.session.get(Organization, world.org_a)
    incident = factories.make_incident(org, state="triaging", summary="ランサムウェア感染の疑い")
    fire_trigger(incident.id, "request_dispatch", user(world, "dispatcher"), now=now)
    offered = db.session.scalars(select(Dispatch).where(Dispatch.incident_id == incident.id,
                                                        Dispatch.state == "offered")).one()
    role = "technician" if offered.technician_id == world.technician else "other_technician"
    dispatch.accept(offered.id, user(world, role), now=now + timedelta(minutes=2))
    return incident.id, offered.id, role


def visited_incident(world, now=T0):
    """Accepted, then the visit: depart, arrive, complete with a signed-off work report."""
    incident_id, dispatch_id, role = accepted_incident(world, now)
    tech = user(world, role)
    dispatch.advance(dispatch_id, tech, "depart", now=now + timedelta(minutes=5))
    dispatch.advance(dispatch_id, tech, "arrive", now=now + timedelta(minutes=50))
    dispatch.advance(dispatch_id, tech, "complete", now=now + timedelta(hours=3), params={
        "work_report": "感染端末をネットワークから隔離し、ログを保全した。",
        "signoff_name": "山田 太郎"})
    return incident_id, dispatch_id


def costed(world, incident_id, *, lines=((30_000, "dispatch"),), with_evidence=True,
           approve=True, now=T0):
    """Cost lines entered by the desk (with a receipt each) and approved."""
    desk = user(world, "desk")
    items = []
    for n, (price, head) in enumerate(lines):
        ids = ()
        if with_evidence:
            ids = (evidence.store_upload(incident_id, desk, io.BytesIO(PNG + bytes([n])),
                                         f"receipt{n}.png", "receipt", "領収書",
                                         now=now + timedelta(hours=4)).id,)
        item = costs.add_cost_line(incident_id, desk, head, f"費用{n}", 1, price, 10,
                                   date(2026, 11, 25), evidence_ids=ids,
                                   now=now + timedelta(hours=4))
        if approve:
            costs.approve(item.id, desk, now=now + timedelta(hours=5))
        items.append(item.id)
    return items


def ready_to_submit(world, now=T0):
    """A visited incident with an approved, evidenced cost line and the claim prepared."""
    incident_id, _ = visited_incident(world, now)
    costed(world, incident_id, now=now)
    fire_trigger(incident_id, "prepare_claim", user(world, "desk"), now=now + timedelta(hours=6))
    return incident_id


def submitted(world, now=T0):
    """ready_to_submit, then submitted: the claim's id."""
    incident_id = ready_to_submit(world, now)
    fire_trigger(incident_id, "submit_claim", user(world, "desk"), now=now + timedelta(hours=7))
    return db.session.scalar(select(Claim.id).where(Claim.incident_id == incident_id))


def counts():
    """Rows a refused claim action must not change."""
    return tuple(db.session.scalar(select(func.count(model.id))) for model in
                 (Incident, IncidentEvent, Claim, ClaimPacket, InsurerNotice, Notification))


@pytest.fixture
def claim_id(app, world, claim_files):
    """A submitted claim of org A (its insurer takes e-mail and webhooks): its id."""
    with app.app_context():
        integrate_insurer(world)
        ident = submitted(world)
        db.session.remove()
    return ident


def row_counts(app):
    """counts() from outside an app context (around test-client requests)."""
    with app.app_context():
        result = counts()
        db.session.remove()
    return result
