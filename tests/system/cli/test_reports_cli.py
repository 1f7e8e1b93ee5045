"""flask reports monthly: every organization under contract, one, bad input, the e-mails."""

from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import Contract, MonthlyReport, Notification
from app.testkit import factories
from tests.scenes import reports as scene


def counts(app):
    """(reports, report e-mails) in the database."""
    with app.app_context():
        found = (db.session.scalar(select(func.count(MonthlyReport.id))),
                 db.session.scalar(select(func.count(Notification.id)).where(
                     Notification.template == "monthly_report")))
        db.session.remove()
    return found


def second_organization(app):
    """Organization C under contract with one customer user, and D whose contract ended."""
    with app.app_context():
        org_c = factories.make_organization(name="丙運輸")
        factories.make_user("customer", organization=org_c, email="c@c.example")
        org_d = factories.make_organization(contract=False, policy=False)
        db.session.add(Contract(organization_id=org_d.id, plan="network", monthly_fee=9000,
                                starts_on=date(2025, 1, 1), ends_on=date(2026, 9, 30)))
        db.session.commit()
        codes = org_c.code, org_d.code
        db.session.remove()
    return codes


def test_every_organization_under_contract_gets_its_report_and_the_customers_an_email(
        app, runner, world, reports_dir, frozen):
    code_c, code_d = second_organization(app)
    result = runner.invoke(args=["reports", "monthly", "--month", "2026-10"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3 and code_d not in result.output  # D's contract ended in September
    assert lines[0].startswith("2026-10 ORG-") and "e-mails=1" in lines[0]
    assert lines[-1] == "Built 2 report(s) for 2026-10; 2 e-mail(s) queued."
    assert {p.name for p in (reports_dir / "2026-10").iterdir()} == {
        line.split()[2].split("/")[1] for line in lines[:2]}
    with app.app_context():
        emails = db.session.scalars(select(Notification).where(
            Notification.template == "monthly_report")).all()
        assert sorted(m.recipient for m in emails) == sorted(["c@c.example",
                                                              world.emails["customer"]])
        assert all("http://kaketsuke.test/reports/2026-10" in m.body for m in emails)
        db.session.remove()


def test_running_again_replaces_the_reports_and_sends_no_second_email(app, runner, world,
                                                                      reports_dir, frozen):
    second_organization(app)
    assert runner.invoke(args=["reports", "monthly", "--month", "2026-10"]).exit_code == 0
    again = runner.invoke(args=["reports", "monthly", "--month", "2026-10"])
    assert again.exit_code == 0, again.output
    assert again.output.strip().splitlines()[-1] == \
        "Built 2 report(s) for 2026-10; 0 e-mail(s) queued."
    assert counts(app) == (2, 2)
    with app.app_context():
        scene.add_alert(world.org_a, "high", "wazuh", 1, scene.T1)  # A's figures change
        db.session.remove()
    third = runner.invoke(args=["reports", "monthly", "--month", "2026-10"])
    assert "1 e-mail(s) queued" in third.output and counts(app) == (2, 3)


def test_one_organization_only_and_without_email(app, runner, world, reports_dir, frozen):
    code_c, _ = second_organization(app)
    result = runner.invoke(args=["reports", "monthly", "--month", "2026-10",
                                 "--organization", code_c, "--no-email"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == \
        "Built 1 report(s) for 2026-10; 0 e-mail(s) queued."
    assert code_c in result.output and counts(app) == (1, 0)


def test_bad_input_is_a_clear_error_and_writes_nothing(app, runner, world, reports_dir,
                                                       frozen):
    _, code_d = second_organization(app)
    for args, message in (
            (["--month", "2026-13"], "Give the month as YYYY-MM"),
            (["--month", "October"], "Give the month as YYYY-MM"),
            (["--month", "2026-12"], "has not started yet"),
            (["--month", "2026-10", "--organization", "NOPE"], "No organization has the code"),
            (["--month", "2026-10", "--organization", code_d], "had no contract active"),
            ([], "Missing option '--month'")):
        result = runner.invoke(args=["reports", "monthly", *args])
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    assert counts(app) == (0, 0)
    assert not reports_dir.exists()
