"""October 2026 at organization A, walked through the real services with frozen times.

Alerts of several severities and sources, three incidents (one visited and claimed, one
whose first response was late, one never answered), approved and unapproved costs, and
the neighbours that must not count: another organization, September and November.
"""

import io
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Alert, Claim, Dispatch, Organization, User
from app.services.claims import claims, costs, evidence
from app.services.dispatch import visits as dispatch
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.incidents.lifecycle import fire_trigger

NOW = datetime(2026, 11, 2, 0, 0)  # 2026-11-02 09:00 JST: October is over
T1 = datetime(2026, 10, 14, 1, 0)  # 10:00 JST
T2 = datetime(2026, 10, 20, 0, 0)
T3 = datetime(2026, 10, 25, 3, 0)
OCT_31_2330_JST = datetime(2026, 10, 31, 14, 30)
NOV_1_0010_JST = datetime(2026, 10, 31, 15, 10)
SEP_30_2359_JST = datetime(2026, 9, 30, 14, 59)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def user(world, role):
    return db.session.get(User, world.users[role])


def add_alert(organization_id, severity, source, count, seen_at):
    """An alert as the ingest stores it (first seen at `seen_at`, repeated `count` times)."""
    n = db.session.query(Alert).count() + 1
    db.session.add(Alert(
        organization_id=organization_id, source=source, sensor=f"sensor-{n}",
        severity=severity, rule_id=f"r{n}", rule_name=f"rule {n}", hosts=["pc-1"],
        addresses=[], occurred_at=seen_at, first_seen_at=seen_at, last_seen_at=seen_at,
        count=count, dedup_key=f"{n:064d}", raw="{}"))
    db.session.commit()


def report(organization_id, category, severity, channel, now):
    return report_incident(IntakeRequest(
        organization_id=organization_id, channel=channel, category=category,
        severity=severity, summary=f"{category} の相談"), actor_label="test", now=now)


def alerts(world):
    """Five October alerts of A (12 occurrences), and neighbours that do not count."""
    a = world.org_a
    add_alert(a, "critical", "wazuh", 3, datetime(2026, 10, 5, 1, 0))
    add_alert(a, "high", "wazuh", 1, datetime(2026, 10, 6, 1, 0))
    add_alert(a, "medium", "generic", 5, datetime(2026, 10, 7, 1, 0))
    add_alert(a, "low", "cef", 2, datetime(2026, 10, 8, 1, 0))
    add_alert(a, "low", "generic", 1, OCT_31_2330_JST)  # October in Japan
    add_alert(a, "medium", "generic", 4, NOV_1_0010_JST)  # UTC October, JST November
    add_alert(a, "high", "wazuh", 7, SEP_30_2359_JST)
    add_alert(world.org_b, "critical", "generic", 9, datetime(2026, 10, 10, 1, 0))


def visited_and_claimed(world):
    """I1: triage in 10 min, dispatch requested at +20, first offer declined, the second
    accepted at +25, arrival at +110 (90 min after the request), completed, three costed
    lines approved, claim submitted, approved for 70,000 and paid on 2026-10-30."""
    desk, dispatcher = user(world, "desk"), user(world, "dispatcher")
    incident = report(world.org_a, "ransomware", "critical", "phone", T1)
    fire_trigger(incident.id, "start_triage", desk, now=T1 + timedelta(minutes=10))
    fire_trigger(incident.id, "request_dispatch", dispatcher, now=T1 + timedelta(minutes=20))
    first = _offered(incident.id)
    dispatch.decline(first.id, _technician_user(world, first), "別件対応中",
                     now=T1 + timedelta(minutes=22))
    visit = _offered(incident.id)
    tech = _technician_user(world, visit)
    dispatch.accept(visit.id, tech, now=T1 + timedelta(minutes=25))
    dispatch.advance(visit.id, tech, "depart", now=T1 + timedelta(minutes=30))
    dispatch.advance(visit.id, tech, "arrive", now=T1 + timedelta(minutes=110))
    dispatch.advance(visit.id, tech, "complete", now=T1 + timedelta(minutes=200), params={
        "work_report": "感染端末を隔離し、ログを保全した。", "signoff_name": "山田 太郎"})
    for n, (head, quantity, price, rate) in enumerate((
            ("dispatch", 2, 8000, 10), ("investigation", 1, 55555, 10),
            ("consultation", 1, 3333, 8))):
        line = _cost(incident.id, desk, head, quantity, price, rate, date(2026, 10, 14),
                     T1 + timedelta(hours=4), evidence_byte=n)
        costs.approve(line.id, desk, now=T1 + timedelta(hours=4, minutes=30))
    fire_trigger(incident.id, "prepare_claim", desk, now=T1 + timedelta(hours=5))
    fire_trigger(incident.id, "submit_claim", desk, now=T1 + timedelta(hours=6))
    claim_id = db.session.scalar(select(Claim.id).where(Claim.incident_id == incident.id))
    insurer = user(world, "insurer")
    claims.insurer_action(claim_id, insurer, "approve", amount=70_000,
                          now=datetime(2026, 10, 20, 5, 0))
    claims.insurer_action(claim_id, insurer, "record_payment", amount=70_000,
                          paid_on=date(2026, 10, 30), now=datetime(2026, 10, 30, 2, 0))
    return incident.id


def _offered(incident_id):
    return db.session.scalars(select(Dispatch).where(
        Dispatch.incident_id == incident_id, Dispatch.state == "offered")).one()


def _technician_user(world, offer):
    role = "technician" if offer.technician_id == world.technician else "other_technician"
    return user(world, role)


def _cost(incident_id, desk, head, quantity, price, rate, incurred_on, now, evidence_byte=None):
    ids = ()
    if evidence_byte is not None:
        ids = (evidence.store_upload(incident_id, desk, io.BytesIO(PNG + bytes([evidence_byte])),
                                     f"receipt{evidence_byte}.png", "receipt", "領収書",
                                     now=now).id,)
    return costs.add_cost_line(incident_id, desk, head, f"{head} 費用", quantity, price, rate,
                               incurred_on, evidence_ids=ids, now=now)


def late_first_response(world):
    """I2: triage after 50 minutes (target 30); a draft and a rejected line in October, an
    approved line incurred on November 1."""
    desk = user(world, "desk")
    incident = report(world.org_a, "phishing_bec", "medium", "web", T2)
    fire_trigger(incident.id, "start_triage", desk, now=T2 + timedelta(minutes=50))
    _cost(incident.id, desk, "consultation", 1, 9999, 10, date(2026, 10, 20),
          T2 + timedelta(hours=1))
    rejected = _cost(incident.id, desk, "consultation", 1, 1111, 10, date(2026, 10, 20),
                     T2 + timedelta(hours=1))
    costs.reject(rejected.id, desk, now=T2 + timedelta(hours=2))
    later = _cost(incident.id, desk, "recovery", 1, 5000, 10, date(2026, 11, 1), NOW)
    costs.approve(later.id, desk, now=NOW)
    return incident.id


def october(world):
    """The whole October scene; the neighbours in September and November included."""
    alerts(world)
    visited_and_claimed(world)
    late_first_response(world)
    report(world.org_a, "malware", "low", "email", T3)  # never answered: breached at NOW
    report(world.org_a, "dos", "high", "phone", NOV_1_0010_JST)
    report(world.org_a, "insider", "low", "phone", SEP_30_2359_JST)


def organization(world):
    return db.session.get(Organization, world.org_a)
