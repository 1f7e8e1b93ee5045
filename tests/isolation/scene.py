"""Two tenants for the isolation tests: "ours" (the world's org A) and "theirs", the other
tenant every stranger's request points at, with one object of every kind.

The other tenant (丙精機) has its own insurer (the world's other insurer), a technician
visit (the world's other technician), evidence, an approved cost line, a submitted claim
with a signed packet, a contract, a policy, an alert and a monthly report. The strangers
(org A's customer, the world's technician, org A's insurer) have objects of their own at
org A, so their lists are not empty by accident; the world's technician also declined an
offer of the other tenant's incident (an ended offer gives no access).
"""

import io
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from app.auth import create_token
from app.extensions import db
from app.models import (
    Alert,
    Contract,
    IngestKey,
    InsurancePolicy,
    Insurer,
    OnCallShift,
    Organization,
    Technician,
    User,
)
from app.services.claims import costs, evidence
from app.services.dispatch import visits as dispatch
from app.services.incidents.lifecycle import fire_trigger
from app.services.monitoring import ingest
from app.testkit import factories

T0 = datetime(2026, 11, 25, 1, 0)  # 10:00 JST
REPORT_MONTH = "2026-11"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200

# What only the other tenant's own people and the staff may ever read: no response to a
# stranger may contain any of these.
THEIR_NAME = "丙精機工業"
THEIR_SUMMARY = "丙社経理サーバの暗号化被害"
THEIR_DESCRIPTION = "丙社の社外秘ファイルサーバが暗号化された"
THEIR_REPORTER = "丙野秘子"
THEIR_COST = "丙社向け駆付け費用"
THEIR_FILE = "丙社領収書.png"
THEIR_WORK_REPORT = "丙社のNASを隔離した"
THEIR_ALERT = "丙社センサー検知ルール"


class Seeder:
    """Builds the scene on the world of factories.make_world(), through the real services."""

    def __init__(self):
        self.world = factories.make_world()

    def user(self, key):
        return db.session.get(User, self.world["users"][key])

    def dispatched(self, org, holder, decliner=None, **fields):
        """An incident of `org` offered and accepted (so its insurer gets the early notice);
        `decliner` was offered it first and declined."""
        dispatcher = self.user("dispatcher")
        incident = factories.make_incident(org, state="triaging", **fields)
        fire_trigger(incident.id, "request_dispatch", dispatcher, now=T0)
        if decliner is not None:
            offer = dispatch.override(incident.id, decliner.technician_id, dispatcher,
                                      now=T0 + timedelta(minutes=1))
            dispatch.decline(offer.id, decliner, "busy", now=T0 + timedelta(minutes=2))
        visit = dispatch.override(incident.id, holder.technician_id, dispatcher,
                                  now=T0 + timedelta(minutes=3))
        dispatch.accept(visit.id, holder, now=T0 + timedelta(minutes=4))
        return incident.id, visit.id

    def their_visit(self, org):
        """Their incident held by their technician, completed with a signed-off report; the
        world's technician was offered it first and declined (no access left)."""
        holder = self.user("other_technician")
        incident_id, visit_id = self.dispatched(
            org, holder, decliner=self.user("technician"), summary=THEIR_SUMMARY,
            description=THEIR_DESCRIPTION, reporter_name=THEIR_REPORTER)
        for step, minutes in (("depart", 5), ("arrive", 50), ("complete", 180)):
            dispatch.advance(visit_id, holder, step, now=T0 + timedelta(minutes=minutes),
                             params={"work_report": THEIR_WORK_REPORT,
                                     "signoff_name": THEIR_REPORTER})
        return incident_id, visit_id

    def their_claim(self, incident_id):
        """An evidenced, approved cost line, then the claim submitted (packet version 1)."""
        desk = self.user("desk")
        receipt = evidence.store_upload(incident_id, desk, io.BytesIO(PNG), THEIR_FILE,
                                        "receipt", THEIR_COST, now=T0 + timedelta(hours=4))
        item = costs.add_cost_line(incident_id, desk, "dispatch", THEIR_COST, 1, 30_000, 10,
                                   date(2026, 11, 25), evidence_ids=(receipt.id,),
                                   now=T0 + timedelta(hours=4))
        costs.approve(item.id, desk, now=T0 + timedelta(hours=5))
        fire_trigger(incident_id, "prepare_claim", desk, now=T0 + timedelta(hours=6))
        fire_trigger(incident_id, "submit_claim", desk, now=T0 + timedelta(hours=7))
        return receipt.id, item.id

    @staticmethod
    def their_extras(org):
        """An alert, an ingest key and the month's report of the other tenant."""
        from app.services.reporting.monthly import (
            build_monthly_report,  # PDF fonts load on first use
        )

        alert = Alert(organization_id=org.id, source="generic", sensor="丙社UTM",
                      severity="high", rule_id="R-1", rule_name=THEIR_ALERT, occurred_at=T0,
                      first_seen_at=T0, last_seen_at=T0, dedup_key="0" * 64)
        db.session.add(alert)
        db.session.commit()
        ingest.create_ingest_key(org, now=T0)
        report = build_monthly_report(org, REPORT_MONTH, now=T0, email=False).report
        key_id = db.session.scalar(select(IngestKey.id).where(
            IngestKey.organization_id == org.id))
        return {"alert_id": alert.id, "report_id": report.id, "key_id": key_id}

    def ours(self):
        """Org A's own incident, accepted by the world's technician (so the strangers' lists
        and their insurer's notices hold something of their own)."""
        org_a = db.session.get(Organization, self.world["org_a"])
        return self.dispatched(org_a, self.user("technician"), summary="甲社のPCが不調")[0]


def seed():
    """The world plus the other tenant: every id, token and e-mail the matrix needs."""
    seeder = Seeder()
    world = seeder.world
    other_insurer = seeder.user("other_insurer").insurer_id
    org = factories.make_organization(name=THEIR_NAME,
                                      insurer=db.session.get(Insurer, other_insurer))
    owner = factories.make_user("customer", organization=org)
    owner_technician = db.session.get(Technician, world["other_technician"])
    our_incident = seeder.ours()
    incident_id, dispatch_id = seeder.their_visit(org)
    evidence_id, cost_id = seeder.their_claim(incident_id)
    extras = seeder.their_extras(org)
    incident = factories.get(factories.Incident, incident_id)
    claim = incident.claim
    tokens = {**world["tokens"], "owner_customer": create_token(owner)}
    emails = {**world["emails"], "owner_customer": owner.email}
    ids = {
        "incident_id": incident_id, "dispatch_id": dispatch_id, "cost_id": cost_id,
        "evidence_id": evidence_id, "claim_id": claim.id,
        "contract_id": db.session.scalar(select(Contract.id).where(
            Contract.organization_id == org.id)),
        "policy_id": claim.policy_id, "organization_id": org.id,
        "insurer_id": other_insurer, "technician_id": owner_technician.id,
        "shift_id": db.session.scalar(select(OnCallShift.id).where(
            OnCallShift.technician_id == owner_technician.id)),
        **extras,
    }
    secrets = [THEIR_NAME, THEIR_SUMMARY, THEIR_DESCRIPTION, THEIR_REPORTER, THEIR_COST,
               THEIR_FILE, THEIR_WORK_REPORT, THEIR_ALERT, incident.reference, org.code,
               db.session.get(InsurancePolicy, claim.policy_id).number]
    return SimpleNamespace(ids=ids, tokens=tokens, emails=emails, secrets=secrets,
                           our_incident=our_incident, world=world)
