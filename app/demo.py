"""Demo data: SMEs across Japan with contracts of each plan, a policy, technicians, users.

Idempotent: rows are found by their natural keys (code, number, e-mail) and only
missing ones are added, so `seed-demo` can run on every start.
"""

from datetime import date, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Contract,
    Incident,
    InsurancePolicy,
    Insurer,
    OnCallShift,
    Organization,
    OrganizationPhone,
    Technician,
    User,
)
from app.services.intake import IntakeRequest, report_incident
from app.services.transitions import fire_trigger
from app.timeutil import utcnow

DEMO_PASSWORD = "demo"
PERIOD = (date(2026, 4, 1), date(2027, 3, 31))

ORGANIZATIONS = [
    # code, name, prefecture, industry, employees, phone, plan, class, devices, fee
    ("TKY-0001", "株式会社たなか精機", 13, "製造業", 35, "03-1234-5678", "combined", 1, 20, 40000),
    ("OSK-0002", "なにわ商事株式会社", 27, "卸売業", 12, "06-2345-6789", "network", 1, 1, 9800),
    ("FKO-0003", "博多デザイン合同会社", 40, "情報通信業", 6, "092-345-6789", "endpoint", 1, 6,
     12000),
    ("HKD-0004", "北海道みらい運輸株式会社", 1, "運輸業", 80, "011-456-7890", "combined", 2, 60,
     150000),
]
TECHNICIANS = [
    ("佐藤 健", "東京セキュリティサービス株式会社", "+819011112222", [13, 11, 12, 14], 8000),
    ("鈴木 彩", "関西ITサポート株式会社", "+819022223333", [27, 26, 28], 7500),
    ("高橋 翔", "九州ネットワーク株式会社", "+819033334444", [40, 41, 43], 7000),
    ("伊藤 誠", "北海道システム保守株式会社", "+819044445555", [1], 7000),
]
ALL_SKILLS = ["malware", "ransomware", "unauthorized_access", "vulnerability_exploit",
              "phishing_bec", "support_scam", "web_defacement", "dos", "data_leak",
              "suspicious_traffic", "insider", "other"]


def _get_or_add(model, defaults=None, **keys):
    row = db.session.scalars(select(model).filter_by(**keys)).first()
    if row is not None:
        return row, 0
    row = model(**keys, **(defaults or {}))
    db.session.add(row)
    db.session.flush()
    return row, 1


def _organizations(insurer):
    added, orgs = 0, []
    for code, name, pref, industry, staff, phone, plan, klass, devices, fee in ORGANIZATIONS:
        org, n = _get_or_add(Organization, code=code, defaults=dict(
            name=name, prefecture=pref, industry=industry, employees=staff,
            address=f"{name} 本社"))
        added += n
        added += _get_or_add(OrganizationPhone, number=_e164(phone),
                             defaults=dict(organization_id=org.id, label="代表"))[1]
        policy, n = _get_or_add(InsurancePolicy, number=f"CY-{code}", defaults=dict(
            insurer_id=insurer.id, organization_id=org.id, starts_on=PERIOD[0],
            ends_on=PERIOD[1], per_incident_limit=1_000_000, annual_aggregate=3_000_000,
            deductible=0))
        added += n
        if not org.contracts:
            db.session.add(Contract(
                organization_id=org.id, plan=plan, service_class=klass, devices=devices,
                monthly_fee=fee, onsite_support=True, starts_on=PERIOD[0], ends_on=None,
                policy_id=policy.id))
            added += 1
        orgs.append(org)
    return orgs, added


def _e164(phone):
    from app.phones import normalize_phone
    return normalize_phone(phone)


def _technicians():
    added, techs = 0, []
    for name, company, phone, prefs, rate in TECHNICIANS:
        tech, n = _get_or_add(Technician, phone=phone, defaults=dict(
            name=name, company=company, email=f"{phone[-4:]}@tech.demo.example",
            prefectures=prefs, skills=ALL_SKILLS, hourly_rate=rate, active=True))
        added += n
        techs.append(tech)
    return techs, added


def _shifts(techs, now):
    """Everyone on call around the clock for the next 30 days, so dispatch can be tried."""
    if db.session.scalar(select(func.count(OnCallShift.id)).where(OnCallShift.ends_at > now)):
        return 0
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for tech in techs:
        for day in range(30):
            db.session.add(OnCallShift(technician_id=tech.id,
                                       starts_at=start + timedelta(days=day),
                                       ends_at=start + timedelta(days=day + 1),
                                       note="デモ当番"))
    return len(techs) * 30


def _users(org, insurer, technician):
    added = 0
    for role, name, extra in [
        ("customer", "田中 一郎", {"organization_id": org.id}),
        ("desk", "山本 窓口", {}), ("dispatcher", "中村 手配", {"phone": "+819000000001"}),
        ("technician", technician.name, {"technician_id": technician.id}),
        ("insurer", "小林 損保", {"insurer_id": insurer.id}), ("admin", "管理者", {}),
    ]:
        user, n = _get_or_add(User, email=f"{role}@demo.example",
                              defaults=dict(name=name, role=role, **extra))
        if n:
            user.set_password(DEMO_PASSWORD)
        added += n
    return added


def _incidents(orgs, desk):
    """A few incidents in different states, made through the services (real timelines)."""
    if db.session.scalar(select(func.count(Incident.id))):
        return 0
    samples = [
        (orgs[0], "phone", "ransomware", "critical",
         "ファイルが開けず、身代金要求の画面が出ている"),
        (orgs[1], "web", "phishing_bec", "high",
         "取引先を装ったメールで振込先変更の依頼"),
        (orgs[2], "email", "support_scam", "medium",
         "警告画面が出てサポートに電話してしまった"),
    ]
    made = [report_incident(IntakeRequest(
        organization_id=org.id, channel=channel, category=category, severity=severity,
        summary=summary, description=summary, reporter_name="デモ 報告者",
        reporter_phone=org.phones[0].number), actor=desk) for org, channel, category, severity,
        summary in samples]
    fire_trigger(made[0].id, "start_triage", desk)
    fire_trigger(made[0].id, "request_dispatch", desk, note="現地での調査が必要")
    fire_trigger(made[1].id, "start_triage", desk)
    return len(made)


def seed():
    """Add whatever demo rows are missing; return how many were added."""
    insurer, added = _get_or_add(Insurer, code="DEMO-INS",
                                 defaults={"name": "デモ損害保険株式会社"})
    orgs, n = _organizations(insurer)
    added += n
    techs, n = _technicians()
    added += n
    added += _shifts(techs, utcnow())
    added += _users(orgs[0], insurer, techs[0])
    db.session.commit()
    desk = db.session.scalars(select(User).where(User.email == "desk@demo.example")).one()
    added += _incidents(orgs, desk)
    return added
