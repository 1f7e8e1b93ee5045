"""A month of incidents walked through the real services with known times, for the statistics.

The period is November 2026 (JST). All times are naive UTC; JST is UTC+9.

- a, Tokyo (13), 11-10 10:00 JST: triage +10 min, dispatch +20, arrival +70; approved costs
  ¥30,000 + ¥20,000; claim submitted 11-10 17:00 JST, paid on 11-20.
- b, Tokyo, 11-10 11:00: triage +40 min (the first response, target 30 min, is missed).
- c, Osaka (27), 11-10 12:00: triage +20 min; costs ¥15,000 approved, ¥9,999 draft, ¥7,777
  rejected.
- d, Hokkaido (1), 11-10 13:00: still received at NOW (first response running, past due).
- edge_in, Osaka, 11-30 23:59: the last minute of the period; cancelled a minute later.
- before, Osaka, 10-31 23:59 and after, Tokyo, 12-01 00:00: just outside the period.

Alerts (first seen in the period): two critical ones joined to a and d (3 and 1 occurrences), one
low without an incident; one high before the period.
"""

import io
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import select

from app.domain.timeutil import to_jst
from app.extensions import db
from app.models import Alert, Claim, Dispatch, Organization, User
from app.services.claims import claims, costs, evidence
from app.services.dispatch import visits as dispatch
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.incidents.lifecycle import fire_trigger
from app.services.reporting.dashboard import Period
from app.testkit import factories

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
T0 = datetime(2026, 11, 10, 1, 0)  # 10:00 JST
NOW = datetime(2026, 12, 5, 0, 0)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
MINUTE = timedelta(minutes=1)


def user(world, role):
    return db.session.get(User, world.users[role])


def organization(name, prefecture, employees, industry, insurer_id=None):
    """An SME with an active on-site contract and a policy of the world's insurer."""
    from app.models import Insurer

    insurer = db.session.get(Insurer, insurer_id) if insurer_id else None
    org = factories.make_organization(name=name, prefecture=prefecture, insurer=insurer)
    org.employees, org.industry = employees, industry
    db.session.commit()
    return org


def receive(org, at, category="malware", **fields):
    """An incident reported by phone at `at`."""
    return report_incident(IntakeRequest(
        organization_id=org.id, channel=fields.pop("channel", "phone"), category=category,
        severity=fields.pop("severity", "high"), summary=fields.pop("summary", "PC の異常"),
        **fields), actor_label="test", now=at)


def triage(world, incident, at):
    fire_trigger(incident.id, "start_triage", user(world, "desk"), now=at)


def cost(world, incident_id, price, at, *, approve=True, reject=False, receipt=True):
    """A cost line entered by the desk at `at` (with a receipt), approved or rejected."""
    desk = user(world, "desk")
    ids = ()
    if receipt:
        ids = (evidence.store_upload(incident_id, desk, io.BytesIO(PNG + str(price).encode()),
                                     "receipt.png", "receipt", "領収書", now=at).id,)
    item = costs.add_cost_line(incident_id, desk, "dispatch", f"費用 {price}", 1, price, 10,
                               to_jst(at).date(), evidence_ids=ids, now=at)
    if approve:
        costs.approve(item.id, desk, now=at)
    elif reject:
        costs.reject(item.id, desk, now=at)
    return item


def visit(world, incident, requested_at):
    """Dispatch requested at `requested_at`; accepted +5 min, departs +10, arrives +50."""
    fire_trigger(incident.id, "request_dispatch", user(world, "dispatcher"), now=requested_at)
    offered = db.session.scalars(select(Dispatch).where(
        Dispatch.incident_id == incident.id, Dispatch.state == "offered")).one()
    role = "technician" if offered.technician_id == world.technician else "other_technician"
    tech = user(world, role)
    dispatch.accept(offered.id, tech, now=requested_at + 5 * MINUTE)
    dispatch.advance(offered.id, tech, "depart", now=requested_at + 10 * MINUTE)
    dispatch.advance(offered.id, tech, "arrive", now=requested_at + 50 * MINUTE)
    dispatch.advance(offered.id, tech, "complete", now=requested_at + 160 * MINUTE, params={
        "work_report": "端末を隔離しログを保全した。", "signoff_name": "山田 太郎"})


def claim_paid(world, incident, submitted_at, paid_on):
    """Prepare and submit the claim at `submitted_at`; approve and pay on `paid_on`."""
    desk, insurer = user(world, "desk"), user(world, "insurer")
    fire_trigger(incident.id, "prepare_claim", desk, now=submitted_at - MINUTE)
    fire_trigger(incident.id, "submit_claim", desk, now=submitted_at)
    claim = db.session.scalars(select(Claim).where(Claim.incident_id == incident.id)).one()
    claims.insurer_action(claim.id, insurer, "approve", amount=30_000,
                          now=submitted_at + timedelta(days=2))
    claims.insurer_action(claim.id, insurer, "record_payment", amount=30_000, paid_on=paid_on,
                          now=submitted_at + timedelta(days=11))
    return claim


def alert(org, severity, first_seen, incident=None, count=1, **fields):
    row = Alert(organization_id=org.id, source="generic", sensor=fields.get("sensor", "utm-1"),
                severity=severity, rule_id=fields.get("rule_id", "R-1"),
                rule_name=fields.get("rule_name", "suspicious"), hosts=fields.get("hosts", []),
                addresses=fields.get("addresses", []), occurred_at=first_seen,
                first_seen_at=first_seen, last_seen_at=first_seen, count=count,
                dedup_key=f"k{first_seen:%H%M%S}{severity}", raw=fields.get("raw", ""),
                incident_id=incident.id if incident else None)
    db.session.add(row)
    db.session.commit()
    return row


def seed(world):
    """The month above; returns the incidents' and organizations' ids by name."""
    tokyo = db.session.get(Organization, world.org_a)  # the world's covered org, Tokyo
    tokyo.employees, tokyo.industry = 10, "製造業"
    db.session.commit()
    osaka = organization("大阪商店", 27, 150, "小売業", world.insurer)
    hokkaido = organization("札幌建設", 1, 500, "建設業", world.insurer)

    a = receive(tokyo, T0, "ransomware", severity="critical")
    triage(world, a, T0 + 10 * MINUTE)
    visit(world, a, T0 + 20 * MINUTE)
    cost(world, a.id, 30_000, T0 + 4 * 60 * MINUTE)
    cost(world, a.id, 20_000, T0 + 4 * 60 * MINUTE)
    claim_paid(world, a, datetime(2026, 11, 10, 8, 0), date(2026, 11, 20))  # 17:00 JST

    b = receive(tokyo, T0 + 60 * MINUTE)
    triage(world, b, T0 + 100 * MINUTE)
    c = receive(osaka, T0 + 120 * MINUTE, "phishing_bec", channel="email")
    triage(world, c, T0 + 140 * MINUTE)
    cost(world, c.id, 15_000, T0 + 200 * MINUTE)
    cost(world, c.id, 9_999, T0 + 200 * MINUTE, approve=False)
    cost(world, c.id, 7_777, T0 + 200 * MINUTE, approve=False, reject=True)
    d = receive(hokkaido, T0 + 180 * MINUTE, "malware", severity="critical")

    edge_in = receive(osaka, datetime(2026, 11, 30, 14, 59), "other")
    fire_trigger(edge_in.id, "cancel", user(world, "desk"), params={"reason": "重複"},
                 now=datetime(2026, 11, 30, 15, 0))
    before = receive(osaka, datetime(2026, 10, 31, 14, 59), "dos")
    after = receive(tokyo, datetime(2026, 11, 30, 15, 0), "dos")

    alert(tokyo, "critical", T0 - 5 * MINUTE, incident=a, count=3)
    alert(hokkaido, "critical", T0 + 179 * MINUTE, incident=d)
    alert(osaka, "low", T0 + 30 * MINUTE)
    alert(osaka, "high", datetime(2026, 10, 31, 14, 0), incident=before)
    return SimpleNamespace(
        a=a.id, b=b.id, c=c.id, d=d.id, edge_in=edge_in.id, before=before.id, after=after.id,
        tokyo=tokyo.id, osaka=osaka.id, hokkaido=hokkaido.id)
