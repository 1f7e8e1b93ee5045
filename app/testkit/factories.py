"""Plain factory functions with sequenced unique values (call inside an app context)."""

import itertools
from datetime import date, datetime

from sqlalchemy import select

from app.auth import create_token
from app.extensions import db
from app.models import (
    Contract,
    CoverageHead,
    Dispatch,
    Incident,
    InsurancePolicy,
    Insurer,
    InsurerNotice,
    OnCallShift,
    Organization,
    OrganizationPhone,
    PolicyCoverage,
    Technician,
    User,
)
from app.services.incidents.intake import IntakeRequest, report_incident

PASSWORD = "correct horse battery staple"
STANDARD_HEADS = [("dispatch", "駆付け費用", "On-site dispatch"),
                  ("investigation", "調査費用", "Investigation"),
                  ("recovery", "復旧費用", "Recovery"),
                  ("consultation", "相談費用", "Consultation")]
# Per head: (payout ratio %, sub-limit yen) of the policies tests make.
STANDARD_COVER = {"dispatch": (100, 300_000), "investigation": (90, 500_000),
                  "recovery": (80, 500_000), "consultation": (100, 100_000)}


def coverage_heads():
    """The standard heads of cover (the migration inserts them in a real database)."""
    heads = {h.code: h for h in db.session.scalars(select(CoverageHead))}
    for code, name_ja, name_en in STANDARD_HEADS:
        if code not in heads:
            heads[code] = CoverageHead(code=code, name_ja=name_ja, name_en=name_en)
            db.session.add(heads[code])
    db.session.flush()
    return heads
_seq = itertools.count(1)


def make_organization(*, name=None, prefecture=13, phone=None, contract=True, onsite=True,
                      policy=True, insurer=None):
    """An SME, by default with an active contract (on-site included) and a policy."""
    n = next(_seq)
    org = Organization(code=f"ORG-{n:04d}", name=name or f"テスト株式会社{n}",
                       prefecture=prefecture, industry="製造業", employees=10)
    db.session.add(org)
    db.session.flush()
    db.session.add(OrganizationPhone(organization_id=org.id,
                                     number=phone or f"+8130000{n:05d}"))
    policy_row = None
    if policy:
        insurer = insurer or make_insurer()
        policy_row = InsurancePolicy(
            number=f"POL-{n:05d}", insurer_id=insurer.id, organization_id=org.id,
            starts_on=date(2020, 1, 1), ends_on=date(2099, 12, 31),
            per_incident_limit=1_000_000, annual_aggregate=3_000_000, deductible=0)
        db.session.add(policy_row)
        db.session.flush()
        for code, head in coverage_heads().items():
            ratio, sub_limit = STANDARD_COVER.get(code, (100, 100_000))
            db.session.add(PolicyCoverage(policy_id=policy_row.id, head_id=head.id,
                                          payout_ratio=ratio, sub_limit=sub_limit))
    if contract:
        db.session.add(Contract(
            organization_id=org.id, plan="combined", service_class=1, devices=5,
            monthly_fee=15000, onsite_support=onsite, starts_on=date(2020, 1, 1),
            policy_id=policy_row.id if policy_row else None))
    db.session.commit()
    return org


def make_insurer():
    n = next(_seq)
    insurer = Insurer(code=f"INS-{n}", name=f"テスト損保{n}")
    db.session.add(insurer)
    db.session.flush()
    return insurer


ALL_CATEGORIES = ["malware", "ransomware", "unauthorized_access", "vulnerability_exploit",
                  "phishing_bec", "support_scam", "web_defacement", "dos", "data_leak",
                  "suspicious_traffic", "insider", "other"]


def make_technician(*, prefectures=(13,), active=True, skills=None, on_call=None, locale="ja"):
    """A technician; on_call=(start, end) also gives them a shift."""
    n = next(_seq)
    tech = Technician(name=f"技術者{n}", company="テストサポート", phone=f"+8190{n:08d}",
                      email=f"tech{n}@test.example", prefectures=list(prefectures),
                      skills=list(skills or ALL_CATEGORIES), hourly_rate=8000, active=active,
                      locale=locale)
    db.session.add(tech)
    db.session.flush()
    if on_call:
        db.session.add(OnCallShift(technician_id=tech.id, starts_at=on_call[0],
                                   ends_at=on_call[1]))
    db.session.commit()
    return tech


def make_user(role, *, organization=None, insurer=None, technician=None, email=None, phone=""):
    n = next(_seq)
    user = User(email=email or f"{role}{n}@test.example", name=f"{role} {n}", role=role,
                phone=phone,
                organization_id=organization.id if organization else None,
                insurer_id=insurer.id if insurer else None,
                technician_id=technician.id if technician else None)
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def make_incident(organization, *, state="received", actor=None, category="malware",
                  summary="PC behaves strangely", technician=None, **fields):
    """An incident made by the intake service, then placed in `state` for the test."""
    incident = report_incident(IntakeRequest(
        organization_id=organization.id, channel=fields.pop("channel", "phone"),
        category=category, severity=fields.pop("severity", "medium"), summary=summary,
        **fields), actor=actor, actor_label="test")
    if state != "received" or technician is not None:
        incident.state = state
        if technician is not None:
            incident.assigned_technician_id = technician.id
            db.session.add(Dispatch(incident_id=incident.id, technician_id=technician.id,
                                    state=HOLDING_BY_INCIDENT_STATE.get(state, "offered")))
        if technician is not None or state.startswith("claim_"):
            _told_insurers(incident)  # as an accepted dispatch or a claim would have
        db.session.commit()
    return incident


def _told_insurers(incident):
    for policy in db.session.scalars(select(InsurancePolicy).where(
            InsurancePolicy.organization_id == incident.organization_id)):
        db.session.add(InsurerNotice(insurer_id=policy.insurer_id, incident_id=incident.id,
                                     kind="early_notice"))


HOLDING_BY_INCIDENT_STATE = {"technician_assigned": "accepted", "en_route": "en_route",
                             "on_site": "on_site"}


def make_world():
    """Org A (covered) and org B (no contract), a user per role, tokens: returns ids."""
    insurer = make_insurer()
    org_a = make_organization(name="甲商事", insurer=insurer, phone="+81312345678")
    org_b = make_organization(name="乙工業", contract=False, policy=False)
    always = (datetime(2020, 1, 1), datetime(2099, 12, 31))
    tech = make_technician(on_call=always)
    other_tech = make_technician(on_call=always)
    users = {
        "customer": make_user("customer", organization=org_a),
        "other_customer": make_user("customer", organization=org_b),
        "desk": make_user("desk"), "dispatcher": make_user("dispatcher", phone="+819055550000"),
        "technician": make_user("technician", technician=tech),
        "other_technician": make_user("technician", technician=other_tech),
        "insurer": make_user("insurer", insurer=insurer),
        "other_insurer": make_user("insurer", insurer=make_insurer()),
        "admin": make_user("admin"),
    }
    return {
        "org_a": org_a.id, "org_b": org_b.id, "insurer": insurer.id,
        "technician": tech.id, "other_technician": other_tech.id,
        "users": {role: u.id for role, u in users.items()},
        "emails": {role: u.email for role, u in users.items()},
        "tokens": {role: create_token(u) for role, u in users.items()},
    }


def get(model, ident):
    return db.session.get(model, ident)


__all__ = ["Incident", "get"]
