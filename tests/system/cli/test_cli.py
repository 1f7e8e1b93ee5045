"""Operator commands: demo data, API tokens, the workflow diagram."""

import hashlib
from datetime import timedelta

from sqlalchemy import func, select

from app.cli.demo import CLAIM_STORIES
from app.cli.workflow import DIAGRAM_PATH
from app.domain.timeutil import to_jst, utcnow
from app.extensions import db
from app.models import (
    Alert,
    ApiToken,
    Claim,
    ClaimPacket,
    Contract,
    CostItem,
    Evidence,
    Incident,
    IncidentEvent,
    Insurer,
    MonthlyReport,
    Notification,
    OnCallShift,
    Organization,
    PolicyCoverage,
    User,
)
from app.services.claims import claims
from app.services.incidents.audit import verify_chains
from notifications.worker import run
from workflows.diagram import markdown

SEEDED = (Organization, Contract, PolicyCoverage, User, OnCallShift, Incident, IncidentEvent,
          CostItem, Evidence, Claim, ClaimPacket, Notification, Alert, MonthlyReport)


def test_seed_demo_is_idempotent_and_covers_every_role_and_plan(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        counts = [db.session.scalar(select(func.count(m.id))) for m in SEEDED]
        roles = set(db.session.scalars(select(User.role)))
        plans = set(db.session.scalars(select(Contract.plan)))
        prefectures = set(db.session.scalars(select(Organization.prefecture)))
    assert roles == {"customer", "desk", "dispatcher", "technician", "insurer", "admin"}
    assert plans == {"network", "endpoint", "combined"}
    assert len(prefectures) >= 3
    second = runner.invoke(args=["seed-demo"])
    assert "0 new rows" in second.output
    with app.app_context():
        assert [db.session.scalar(select(func.count(m.id))) for m in SEEDED] == counts
    for role in roles:
        assert f"{role}@demo.example" in first.output


def test_seed_demo_has_monitoring_alerts_and_last_months_report(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        alerts = db.session.scalars(select(Alert)).all()
        report = db.session.scalars(select(MonthlyReport)).one()
        monitoring = db.session.scalars(select(Incident).where(
            Incident.channel == "monitoring")).all()
        # Repeats were counted through the real ingest, and the one high alert opened the
        # one monitoring incident (the default severity policy).
        assert sum(a.count for a in alerts) > len(alerts)
        assert [a.severity for a in alerts if a.incident_id] == ["high"]
        assert len(monitoring) == 1
        last_month = (to_jst(utcnow()).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        assert report.month == last_month and report.pdf_sha256
        assert report.organization.code == "TKY-0001"


def test_seed_demo_walks_one_claim_to_paid_and_closed_and_one_to_awaiting_the_insurer(
        app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        paid, waiting = (db.session.scalars(select(Incident).where(
            Incident.summary == story["summary"])).one() for story in CLAIM_STORIES)
        assert (paid.state, waiting.state) == ("closed", "claim_submitted")
        assert paid.claim.paid_amount == paid.claim.approved_amount == \
            paid.claim.payable_amount > 0
        assert paid.claim.paid_on is not None and paid.claim.acknowledged_at is not None
        assert waiting.claim.payable_amount > 0 and waiting.claim.approved_amount is None
        assert waiting.claim.paid_on is None and waiting.claim.acknowledged_at is None
        for incident in (paid, waiting):
            assert incident.discovered_at < utcnow() - timedelta(days=7)  # a past story
            assert len(incident.cost_items) == 3
            assert all(c.status == "approved" and c.evidence for c in incident.cost_items)
            assert [d.state for d in incident.dispatches] == ["completed"]
            assert incident.dispatches[0].technician.name == "佐藤 健"
            assert claims.verify(incident.claim) == (incident.claim.packets[0], [])
        assert verify_chains() is None


def test_token_create_prints_one_token_stored_only_as_a_hash(app, runner, world, client):
    result = runner.invoke(args=["token", "create", world.emails["desk"]])
    assert result.exit_code == 0
    token = result.output.strip()
    assert "\n" not in token and token.startswith("kkt_")
    with app.app_context():
        hashes = set(db.session.scalars(select(ApiToken.token_hash)))
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert token not in hashes
    assert client.get("/api/v1/incidents", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200


def test_token_create_for_an_unknown_user_fails(runner):
    result = runner.invoke(args=["token", "create", "nobody@example.jp"])
    assert result.exit_code != 0
    assert "No user" in result.output


def test_the_committed_state_diagram_is_up_to_date():
    assert DIAGRAM_PATH.read_text(encoding="utf-8") == markdown(), (
        "docs/incident-lifecycle.md is stale: run 'flask --app wsgi workflow diagram'")


def test_the_diagram_shows_every_state_and_trigger():
    from workflows.incident import STATES, TRIGGERS
    text = markdown()
    assert all(f"state \"{s}\" as {s}" in text for s in STATES)
    assert all(f": {t}" in text or f"| {t}" in text for t in TRIGGERS)


def test_diagram_check_fails_when_stale(runner, tmp_path, monkeypatch):
    stale = tmp_path / "diagram.md"
    stale.write_text("old", encoding="utf-8")
    monkeypatch.setattr("app.cli.workflow.DIAGRAM_PATH", stale)
    assert runner.invoke(args=["workflow", "diagram", "--check"]).exit_code != 0
    assert runner.invoke(args=["workflow", "diagram"]).exit_code == 0
    assert runner.invoke(args=["workflow", "diagram", "--check"]).exit_code == 0


def test_user_create_makes_a_user_who_can_log_in(app, runner):
    result = runner.invoke(args=["user", "create", "Boss@Example.jp", "--role", "admin",
                                 "--name", "管理者"], input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        created = db.session.scalars(select(User).filter_by(email="boss@example.jp")).one()
        assert created.role == "admin" and created.check_password("a-long-password")


def test_user_create_makes_an_insurers_portal_login(app, runner, world):
    with app.app_context():
        code = db.session.get(Insurer, world.insurer).code
    result = runner.invoke(args=["user", "create", "claims@sonpo.example", "--role", "insurer",
                                 "--name", "損保 担当", "--insurer", code.lower(),
                                 "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        created = db.session.scalars(select(User).filter_by(email="claims@sonpo.example")).one()
        assert (created.role, created.insurer_id) == ("insurer", world.insurer)


def test_user_create_refuses_bad_input_and_writes_nothing(app, runner, world):
    cases = [
        ["user", "create", world.emails["desk"], "--role", "desk", "--name", "x",
         "--password", "a-long-password"],
        ["user", "create", "c@example.jp", "--role", "customer", "--name", "x",
         "--password", "a-long-password"],
        ["user", "create", "d@example.jp", "--role", "desk", "--name", "x", "--password", "short"],
        ["user", "create", "e@example.jp", "--role", "boss", "--name", "x",
         "--password", "a-long-password"],
        ["user", "create", "f@example.jp", "--role", "insurer", "--name", "x",
         "--password", "a-long-password"],
        ["user", "create", "g@example.jp", "--role", "desk", "--name", "x",
         "--insurer", "INS-1", "--password", "a-long-password"],
        ["user", "create", "h@example.jp", "--role", "insurer", "--name", "x",
         "--insurer", "NO-SUCH", "--password", "a-long-password"],
    ]
    with app.app_context():
        before = db.session.scalar(select(func.count(User.id)))
    for args in cases:
        assert runner.invoke(args=args).exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == before


def test_token_create_with_an_expiry_stores_it(app, runner, world):
    result = runner.invoke(args=["token", "create", world.emails["desk"], "--expires-days", "7"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        made = db.session.scalars(select(ApiToken).where(
            ApiToken.prefix == result.output.strip()[:12])).one()
        assert timedelta(days=7) - timedelta(minutes=1) < made.expires_at - utcnow() \
            <= timedelta(days=7)


def test_token_create_refuses_a_nonpositive_expiry(app, runner, world):
    with app.app_context():
        before = db.session.scalar(select(func.count(ApiToken.id)))
    result = runner.invoke(args=["token", "create", world.emails["desk"], "--expires-days", "0"])
    assert result.exit_code != 0 and "--expires-days" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(ApiToken.id))) == before


def test_token_list_names_each_token_of_a_user(runner, world):
    result = runner.invoke(args=["token", "list", world.emails["desk"]])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.strip().splitlines()
    assert header.split("\t") == ["id", "prefix", "user", "created", "last used", "expires",
                                  "revoked"]
    assert len(rows) == 1
    fields = rows[0].split("\t")
    assert fields[1:3] == [world.tokens["desk"][:12], world.emails["desk"]]
    assert fields[5:] == ["-", "-"]
    assert world.tokens["desk"] not in result.output
    everyone = runner.invoke(args=["token", "list"]).output.strip().splitlines()
    assert len(everyone) == 1 + len(world.tokens)


def test_token_revoke_by_prefix_refuses_the_token_at_once(app, runner, world, client):
    prefix = world.tokens["desk"][:12]
    result = runner.invoke(args=["token", "revoke", prefix])
    assert result.exit_code == 0, result.output
    assert f"Revoked token {prefix}" in result.output
    assert client.get("/api/v1/incidents", headers={
        "Authorization": f"Bearer {world.tokens['desk']}"}).status_code == 401
    listed = runner.invoke(args=["token", "list", world.emails["desk"]]).output
    assert listed.strip().splitlines()[1].split("\t")[6] != "-"


def test_token_revoke_refuses_an_unknown_or_too_short_prefix_and_changes_nothing(
        app, runner, world):
    for argument, words in (("kkt_nothing", "No API token"), ("999999", "No API token"),
                            ("kkt", "at least 6")):
        result = runner.invoke(args=["token", "revoke", argument])
        assert result.exit_code != 0 and words in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(ApiToken.id)).where(
            ApiToken.revoked_at.isnot(None))) == 0


def test_user_deactivate_refuses_the_login_and_its_tokens(app, runner, world, client):
    result = runner.invoke(args=["user", "deactivate", world.emails["desk"].upper()])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(User, world.users["desk"]).active is False
    assert client.get("/api/v1/incidents", headers={
        "Authorization": f"Bearer {world.tokens['desk']}"}).status_code == 401
    unknown = runner.invoke(args=["user", "deactivate", "nobody@example.jp"])
    assert unknown.exit_code != 0 and "No user" in unknown.output


def test_user_password_sets_a_new_password_and_ends_the_old_sessions(app, runner, world,
                                                                      login):
    browser = login(world.emails["desk"])
    assert browser.get("/desk/").status_code == 200
    result = runner.invoke(args=["user", "password", world.emails["desk"],
                                 "--password", "a-new-long-password"])
    assert result.exit_code == 0, result.output
    assert browser.get("/desk/").status_code == 302
    with app.app_context():
        user = db.session.get(User, world.users["desk"])
        assert user.check_password("a-new-long-password")


def test_user_password_refuses_a_short_password_and_changes_nothing(app, runner, world,
                                                                    login):
    browser = login(world.emails["desk"])
    result = runner.invoke(args=["user", "password", world.emails["desk"], "--password", "short"])
    assert result.exit_code != 0 and "10 to 200 characters" in result.output
    assert browser.get("/desk/").status_code == 200
    with app.app_context():
        assert db.session.get(User, world.users["desk"]).check_password("short") is False


def test_the_demos_messages_are_delivered_by_the_console_and_twilio_never_sends_them(
        app, runner, fake_twilio, smtp):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        seeded = db.session.scalars(select(Notification)).all()
        assert seeded and {(m.status, m.provider) for m in seeded} == {("delivered", "console")}
        assert all(m.sent_at == m.next_attempt_at for m in seeded)
        old_sms = {(m.recipient, m.body) for m in seeded if m.channel in ("sms", "voice")}
        assert any("到着" in body or "出発" in body for _, body in old_sms)  # departed/arrived
        ids = {m.id for m in seeded}
        run(once=True)  # the worker, with the twilio provider aimed at the fake
        after = {m.id: m.status for m in db.session.scalars(
            select(Notification).where(Notification.id.in_(ids)))}
        db.session.remove()
    sent = {(r.form.get("To"), r.form.get("Body")) for r in fake_twilio.requests}
    assert not sent & old_sms
    assert set(after.values()) == {"delivered"}
    mailed = {str(r.message["Subject"]) for r in smtp.received}
    assert not mailed & {m.subject for m in seeded if m.channel == "email"}
