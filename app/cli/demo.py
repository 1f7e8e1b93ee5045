"""Demo data: SMEs across Japan with contracts of each plan, a policy, technicians, users,
a few incidents, two claim stories (one paid and closed, one awaiting the insurer), two
SLA stories (a first response in breach, a personal-data leak near its report deadline), and
six weeks of monitoring alerts from one customer's sensors with last month's monthly report.

Idempotent: rows are found by their natural keys (code, number, e-mail, a claim story's
summary) and only missing ones are added, so `seed-demo` can run on every start.

Every message the demo's stories enqueue is stored as already delivered by the console
provider: they tell of the demo's past, to phones and mailboxes that belong to nobody, so a
worker with a real provider (Twilio, SMTP) must never send them. The development phone page
still lists them.
"""

import io
import json
import struct
import zlib
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import event, func, select

from app.domain.phones import normalize_phone
from app.domain.timeutil import to_jst, utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.models import (
    Alert,
    Claim,
    Contract,
    CoverageHead,
    Dispatch,
    Incident,
    InsurancePolicy,
    Insurer,
    Notification,
    OnCallShift,
    Organization,
    OrganizationPhone,
    PolicyCoverage,
    Technician,
    User,
)
from app.services.claims import claims, costs, evidence
from app.services.dispatch import visits as dispatch
from app.services.incidents import leaks, notes, triage
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.incidents.lifecycle import fire_trigger
from app.services.monitoring import ingest, senders
from app.services.reporting import monthly as reports

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
# code, name (ja), name (en), payout ratio %, sub-limit yen (the migration adds the heads too)
HEADS = [("dispatch", "駆付け費用", "On-site dispatch", 100, 300_000),
         ("investigation", "調査費用", "Investigation", 90, 500_000),
         ("recovery", "復旧費用", "Recovery", 80, 500_000),
         ("consultation", "相談費用", "Consultation", 100, 100_000)]
NOTICE_EMAIL = "jiko@demo-insurer.example"
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


def _heads():
    """The standard coverage heads (a create_all database has none), by code."""
    heads, added = {}, 0
    for code, name_ja, name_en, _, _ in HEADS:
        heads[code], n = _get_or_add(CoverageHead, code=code,
                                     defaults=dict(name_ja=name_ja, name_en=name_en))
        added += n
    return heads, added


def _cover(policy, heads):
    """Per-head terms for a policy that has none yet."""
    if policy.coverages:
        return 0
    for code, _, _, ratio, sub_limit in HEADS:
        db.session.add(PolicyCoverage(policy_id=policy.id, head_id=heads[code].id,
                                      payout_ratio=ratio, sub_limit=sub_limit))
    db.session.flush()
    return len(HEADS)


def _organizations(insurer):
    heads, added = _heads()
    orgs = []
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
        added += n + _cover(policy, heads)
        if not org.contracts:
            db.session.add(Contract(
                organization_id=org.id, plan=plan, service_class=klass, devices=devices,
                monthly_fee=fee, onsite_support=True, starts_on=PERIOD[0], ends_on=None,
                policy_id=policy.id))
            added += 1
        orgs.append(org)
    return orgs, added


def _e164(phone):
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
    with _messages_delivered_by_console():
        return _seed()


@contextmanager
def _messages_delivered_by_console():
    """Mark each message enqueued meanwhile as delivered by the console, in the INSERT itself:
    it is never pending, not even for the moment a running worker could claim it."""
    session = db.session()

    def mark(session, flush_context, instances):
        for row in session.new:
            if isinstance(row, Notification):
                row.status, row.provider, row.provider_id = "delivered", "console", "console-demo"
                row.sent_at = row.next_attempt_at  # when the story says it was sent

    event.listen(session, "before_flush", mark)
    try:
        yield
    finally:
        event.remove(session, "before_flush", mark)


def _seed():
    insurer, added = _get_or_add(Insurer, code="DEMO-INS",
                                 defaults={"name": "デモ損害保険株式会社"})
    insurer.notice_email = insurer.notice_email or NOTICE_EMAIL  # 事故報告 and claims by e-mail
    orgs, n = _organizations(insurer)
    added += n
    techs, n = _technicians()
    added += n
    added += _shifts(techs, utcnow())
    added += _users(orgs[0], insurer, techs[0])
    db.session.commit()
    desk = db.session.scalars(select(User).where(User.email == "desk@demo.example")).one()
    added += _incidents(orgs, desk)
    for story in CLAIM_STORIES:
        added += _claim_story(story, orgs[0], techs[0])
    for story in SLA_STORIES:
        added += _sla_story(story, orgs[story["org"]], desk, utcnow())
    added += _monitoring(orgs[0], utcnow())
    added += _syslog_senders(orgs[0])
    return added


# ---------------------------------------------------------------- monitoring

# (source, sensor, severity, rule id, rule name, host, address, every how many hours, repeats):
# the noise a UTM and an EDR make, and one high alert that opened an incident.
SENSORS = [
    ("utm", "fortigate-60f-honsha", "low", "FG-IPS-PORTSCAN", "ポートスキャンの検知", "",
     "203.0.113.45", 6, 40),
    ("utm", "fortigate-60f-honsha", "medium", "FG-WEB-BLOCK", "不審なURLへのアクセスを遮断",
     "pc-eigyo-03", "192.168.10.23", 24, 3),
    ("edr", "edr-cloud-tenant-0042", "medium", "EDR-MACRO-001", "Officeマクロからのスクリプト実行",
     "pc-keiri-01", "192.168.10.41", 72, 1),
]
HIGH_ALERT = ("edr", "edr-cloud-tenant-0042", "high", "EDR-CRED-002",
              "認証情報の窃取ツールの疑い", "srv-file-01", "192.168.10.5")


def _monitoring(org, now):
    """Alerts through the real ingest (dedup, policy), then last month's report; once."""
    if db.session.scalar(select(Alert.id).where(Alert.organization_id == org.id).limit(1)):
        return 0
    key = ingest.create_ingest_key(org, now=now - timedelta(days=43))
    for hours_ago in range(42 * 24, 0, -1):
        at = now - timedelta(hours=hours_ago)
        batch = [_alert(sensor[:7], at) for sensor in SENSORS if hours_ago % sensor[7] == 0
                 for _ in range(sensor[8])]
        if hours_ago == 9 * 24:
            batch.append(_alert(HIGH_ALERT, at))
        if batch:
            ingest.ingest(key, "application/json", json.dumps(batch).encode(), now=at)
    month = (to_jst(now).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    try:
        reports.build_monthly_report(org, month, now=now)
    except InvalidInput:  # the demo contracts' period (PERIOD) did not cover last month
        db.session.rollback()
    return 1


def _syslog_senders(org):
    """A key of the first organization bound to this machine (127.0.0.1, ::1), so `logger`
    run here reaches the receiver `make run` starts; once."""
    if senders.sender_table().resolve("127.0.0.1") is not None:
        return 0
    senders.create_bound_key(org, ["127.0.0.1", "::1"], "fortigate-60f-honsha")
    return 1


def _alert(sensor, at):
    """A generic JSON alert (docs/alerts.md) of `sensor` happening at `at`."""
    source, name, severity, rule_id, rule_name, host, address = sensor
    return {"source": source, "sensor": name, "severity": severity, "rule_id": rule_id,
            "rule_name": rule_name, "hosts": [host] if host else [], "addresses": [address],
            "occurred_at": at.isoformat() + "Z"}


# ---------------------------------------------------------------- SLA stories

# Reported some time before seeding, so that the desk list, the board and the worker's
# pages have clocks to show: the first response (30 min) of the first is in breach; the
# second is a personal-data leak discovered 4 days ago, its preliminary report (near from
# day 3, due on day 5) near its deadline. Each is found again by its summary.
SLA_STORIES = [
    dict(summary="【デモ】警告画面から電話してしまった — 初回対応が期限超過", org=2,
         hours_ago=2, channel="phone", category="support_scam", severity="medium",
         description="ブラウザに警告画面が出て、表示された番号に電話してしまった。"),
    dict(summary="【デモ】顧客名簿の誤送信 — 個人情報漏えいの速報期限が近い", org=1,
         hours_ago=4 * 24, channel="email", category="data_leak", severity="high",
         description="顧客約300名の氏名と電話番号を含む名簿を、社外の取引先に誤って送信した。",
         leak=True),
]


def _sla_story(story, org, desk, now):
    """One incident whose clocks ran in the past, through the services like a real case."""
    if db.session.scalar(select(Incident.id).where(Incident.summary == story["summary"])):
        return 0
    t0 = now - timedelta(hours=story["hours_ago"])
    incident_id = report_incident(IntakeRequest(
        organization_id=org.id, channel=story["channel"], category=story["category"],
        severity=story["severity"], summary=story["summary"], description=story["description"],
        reporter_name="デモ 報告者", reporter_phone=org.phones[0].number), actor=desk, now=t0).id
    if story.get("leak"):
        fire_trigger(incident_id, "start_triage", desk, now=t0 + timedelta(minutes=15))
        leaks.mark_leak(desk, incident_id, malicious=False, now=t0 + timedelta(hours=1))
    return 1


# ---------------------------------------------------------------- claim stories

# Walked through the services like a real case (timeline, costs, evidence, packet, payout).
# Each is found again by its summary, so it is made once. The organization is the Tokyo one
# (its customer login sees both), the technician 佐藤 健 (the technician login).
CLAIM_STORIES = [
    dict(summary="【デモ】ランサムウェア感染 — 保険金支払済み・完了", days_ago=28, settle=True,
         category="ransomware", severity="critical",
         description="朝の始業時にファイルサーバーのファイルが開けず、身代金要求の画面が出た。",
         work_report="感染端末3台をネットワークから隔離し、ログとディスクイメージを保全した。"
                     "バックアップからファイルサーバーを復旧し、全端末をスキャンして駆除を確認した。",
         investigation=("感染経路調査・ログ解析（VPN機器の脆弱性を特定）", 1, 180_000),
         recovery=("ファイルサーバー復旧・端末再構築", 3, 45_000)),
    dict(summary="【デモ】不正アクセス — 保険会社の審査待ち", days_ago=9, settle=False,
         category="unauthorized_access", severity="high",
         description="管理者アカウントに深夜の海外からのログインが記録されていた。",
         work_report="不審なログインのあった管理者アカウントを停止し、認証ログを保全した。"
                     "全アカウントのパスワードを変更し、多要素認証を設定した。",
         investigation=("認証ログ解析・侵入範囲の調査", 1, 120_000),
         recovery=("アカウント再設定・多要素認証の導入", 1, 60_000)),
]
SIGNOFF = "田中 一郎"


def _story_start(days_ago, now):
    """10:00 JST `days_ago` days back, the whole story kept inside the demo policy period."""
    anchor = min(max(now, datetime.combine(PERIOD[0] + timedelta(days=40), time())),
                 datetime.combine(PERIOD[1] - timedelta(days=5), time()))
    return datetime.combine((anchor - timedelta(days=days_ago)).date(), time(1, 0))


def _user(role):
    return db.session.scalars(select(User).where(User.email == f"{role}@demo.example")).one()


def _claim_story(story, org, technician, now=None):
    """One claim incident from intake to submitted (and, to settle, paid and closed)."""
    if db.session.scalar(select(Incident.id).where(Incident.summary == story["summary"])):
        return 0
    t0 = _story_start(story["days_ago"], now or utcnow())
    desk = _user("desk")
    db.session.add(OnCallShift(technician_id=technician.id, starts_at=t0 - timedelta(hours=1),
                               ends_at=t0 + timedelta(hours=23), note="デモ当番"))
    db.session.commit()
    incident_id = report_incident(IntakeRequest(
        organization_id=org.id, channel="phone", category=story["category"],
        severity=story["severity"], summary=story["summary"], description=story["description"],
        reporter_name="田中 一郎", reporter_phone=org.phones[0].number), actor=desk, now=t0).id
    fire_trigger(incident_id, "start_triage", desk, now=t0 + timedelta(minutes=5))
    _triage(incident_id, desk, t0)
    fire_trigger(incident_id, "request_dispatch", desk, note="現地での調査と復旧が必要",
                 now=t0 + timedelta(minutes=10))
    dispatch_id = _visit(incident_id, technician, story["work_report"], t0)
    _costs(incident_id, dispatch_id, story, desk, t0)
    fire_trigger(incident_id, "prepare_claim", desk, now=t0 + timedelta(days=1, hours=1))
    fire_trigger(incident_id, "submit_claim", desk, now=t0 + timedelta(days=1, hours=2))
    if story["settle"]:
        _settle(incident_id, desk, t0)
    return 1


# What the desk did on the phone (the early notice and the claim documents tell it), and
# two notes: one shared with the insurer, one the desk keeps to itself.
TRIAGE_TICKS = ("confirm_contact", "isolate", "keep_logs")
SHARED_NOTE = "被害端末はLANケーブルを抜いて隔離済み。身代金には応じない方針をお客様と確認。"
DESK_NOTE = "お客様の担当者は午後不在。連絡は代表番号へ。"


def _triage(incident_id, desk, t0):
    for minute, item in enumerate(TRIAGE_TICKS, start=6):
        triage.record_check(incident_id, desk, item, True, now=t0 + timedelta(minutes=minute))
    notes.add_note(incident_id, desk, SHARED_NOTE, share_with_insurer=True,
                   now=t0 + timedelta(minutes=9))
    notes.add_note(incident_id, desk, DESK_NOTE, now=t0 + timedelta(minutes=9, seconds=30))


def _visit(incident_id, technician, work_report, t0):
    """The offer accepted by the technician login, then depart, arrive and complete."""
    offers = db.session.scalars(select(Dispatch).where(
        Dispatch.incident_id == incident_id, Dispatch.state == "offered")
        .order_by(Dispatch.id)).all()
    offered = next((d for d in offers if d.technician_id == technician.id), offers[0])
    tech = _user("technician")
    dispatch.accept(offered.id, tech, now=t0 + timedelta(minutes=15))
    dispatch.advance(offered.id, tech, "depart", now=t0 + timedelta(minutes=25))
    dispatch.advance(offered.id, tech, "arrive", now=t0 + timedelta(hours=1, minutes=10))
    dispatch.advance(offered.id, tech, "complete", now=t0 + timedelta(hours=4, minutes=10),
                     params={"work_report": work_report, "signoff_name": SIGNOFF})
    return offered.id


def _costs(incident_id, dispatch_id, story, desk, t0):
    """Labour, investigation and recovery lines, each with its evidence, approved by the desk."""
    at = t0 + timedelta(hours=6)
    day = to_jst(t0).date()
    photo = _evidence(incident_id, desk, _png(), "onsite.png", "photo", "現地作業の写真", at,
                      dispatch_id)
    lines = [costs.labour_line(dispatch_id, desk, now=at).id]
    costs.link_evidence(lines[0], [photo], desk, now=at)
    for head in ("investigation", "recovery"):
        description, quantity, price = story[head]
        receipt = _evidence(incident_id, desk, _receipt(description, quantity, price),
                            f"{head}_receipt.txt", "receipt", "領収書", at)
        lines.append(costs.add_cost_line(incident_id, desk, head, description, quantity, price,
                                         10, day, evidence_ids=[receipt], now=at).id)
    for cost_id in lines:
        costs.approve(cost_id, desk, now=t0 + timedelta(days=1))


def _evidence(incident_id, desk, data, name, kind, description, now, dispatch_id=None):
    return evidence.store_upload(incident_id, desk, io.BytesIO(data), name, kind, description,
                                 dispatch_id, now=now).id


def _settle(incident_id, desk, t0):
    """The insurer acknowledges, approves the payable amount and pays; the desk closes."""
    insurer = _user("insurer")
    claim = db.session.scalars(select(Claim).where(Claim.incident_id == incident_id)).one()
    claim_id, payable = claim.id, claim.payable_amount
    claims.acknowledge(claim_id, insurer, now=t0 + timedelta(days=2))
    claims.insurer_action(claim_id, insurer, "approve", amount=payable,
                          note="約款に基づき支払対象と認定", now=t0 + timedelta(days=8))
    paid_at = t0 + timedelta(days=20)
    claims.insurer_action(claim_id, insurer, "record_payment", amount=payable,
                          paid_on=to_jst(paid_at).date(), now=paid_at)
    fire_trigger(incident_id, "close", desk, note="保険金の入金を確認",
                 now=t0 + timedelta(days=21))


def _png():
    """A valid 1×1 grey PNG (made here: the demo ships no binary files)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def _receipt(description, quantity, price):
    """A short receipt as UTF-8 text."""
    return (f"領収書\n東京セキュリティサービス株式会社\n但し {description}\n"
            f"数量 {quantity} × 単価 {price:,} 円（税抜）\n").encode()


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load the demo organizations, contracts, policy, technicians and users (idempotent)."""
    created = seed()
    click.echo(f"Demo data ready ({created} new rows). Logins, password '{DEMO_PASSWORD}':")
    for user in db.session.scalars(select(User).order_by(User.id)):
        if user.email.endswith("@demo.example"):
            click.echo(f"  {user.email:28} {user.role}")
