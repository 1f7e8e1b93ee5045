"""Shared by the customer-page tests: org A's incident visited, claimed and approved through
the real services, with things the customer must never read (the desk's note, a cost line,
a receipt, the insurer's question and the reason of a cancel elsewhere)."""

import io
from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Claim
from app.services.claims import costs, evidence
from app.services.incidents.lifecycle import fire_trigger
from app.services.incidents.notes import add_note
from tests.scenes.claims import PNG, T0, user, visited_incident

INTERNAL_NOTE = "社内メモ: 顧客には見せない判断材料"
COST_LINE = "駆付け費用(内訳は社内のみ)"
RECEIPT = "desk-receipt.png"
INSURER_QUESTION = "保険会社からの照会: 見積書を再提出してください"
APPROVED = 20_000


def visited(world, now=T0):
    """Org A's incident with a completed visit and its work report: (incident, dispatch)."""
    return visited_incident(world, now)


def claimed_and_approved(world, now=T0):
    """visited(), then the desk's note, a receipt and an approved cost line, the claim
    submitted, the insurer's question, submitted again and approved: (incident, dispatch)."""
    incident_id, dispatch_id = visited(world, now)
    desk, insurer = user(world, "desk"), user(world, "insurer")
    add_note(incident_id, desk, INTERNAL_NOTE, now=now + timedelta(hours=3, minutes=30))
    receipt = evidence.store_upload(incident_id, desk, io.BytesIO(PNG), RECEIPT, "receipt",
                                    "領収書", now=now + timedelta(hours=4))
    item = costs.add_cost_line(incident_id, desk, "dispatch", COST_LINE, 1, 30_000, 10,
                               date(2026, 11, 25), evidence_ids=(receipt.id,),
                               now=now + timedelta(hours=4))
    costs.approve(item.id, desk, now=now + timedelta(hours=5))
    fire_trigger(incident_id, "prepare_claim", desk, now=now + timedelta(hours=6))
    fire_trigger(incident_id, "submit_claim", desk, now=now + timedelta(hours=7))
    fire_trigger(incident_id, "request_info", insurer, params={"message": INSURER_QUESTION},
                 now=now + timedelta(hours=8))
    fire_trigger(incident_id, "submit_claim", desk, now=now + timedelta(hours=9))
    fire_trigger(incident_id, "approve_claim", insurer, params={"amount": APPROVED},
                 now=now + timedelta(hours=10))
    return incident_id, dispatch_id


def claim_of(incident_id):
    return db.session.scalars(select(Claim).where(Claim.incident_id == incident_id)).one()
