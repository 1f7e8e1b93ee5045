"""Building a report: the frozen row, the PDF under REPORTS_DIR, the customers' e-mails."""

import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.errors import InvalidInput
from app.extensions import db
from app.models import MonthlyReport, Notification, Organization
from app.services.reporting import monthly as reports
from app.testkit import factories
from tests.scenes import reports as scene
from tests.scenes.reports import NOW


def pdf_text(path):
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)


def report_emails():
    return db.session.scalars(select(Notification).where(
        Notification.template == "monthly_report").order_by(Notification.id)).all()


def test_a_build_freezes_the_figures_writes_the_pdf_and_emails_each_active_customer(
        ctx, world, reports_dir):
    scene.october(world)
    org = scene.organization(world)
    factories.make_user("customer", organization=org, email="second@a.example")
    gone = factories.make_user("customer", organization=org, email="gone@a.example")
    gone.active = False
    db.session.commit()
    result = reports.build_monthly_report(org, "2026-10", now=NOW)
    report = result.report
    assert report.data == reports.monthly_figures(org, "2026-10", now=NOW)
    assert (report.month, report.built_at, report.emailed_at) == ("2026-10", NOW, NOW)
    path = reports_dir / "2026-10" / f"{org.code}.pdf"
    assert report.pdf_path == f"2026-10/{org.code}.pdf"
    assert report.pdf_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    emails = report_emails()
    assert result.emails_queued == 2
    assert sorted(m.recipient for m in emails) == sorted([world.emails["customer"],
                                                          "second@a.example"])
    for message in emails:
        assert message.channel == "email" and message.locale == "ja"
        assert "http://kaketsuke.test/reports/2026-10" in message.body
        assert "2026-10" in message.subject and "甲商事" in message.body


def test_the_pdf_is_japanese_text_with_the_figures(ctx, world, reports_dir):
    scene.october(world)
    report = reports.build_monthly_report(scene.organization(world), "2026-10",
                                          now=NOW).report
    text = pdf_text(reports_dir / report.pdf_path)
    assert "甲商事" in text and "2026-11-02 09:00 JST" in text
    for figure in ("¥82,309", "¥74,888", "¥7,421", "¥70,000", "¥55,555", "ランサムウェア"):
        assert figure in text


def test_rebuilding_replaces_the_report_and_emails_again_only_when_the_figures_changed(
        ctx, world, reports_dir):
    scene.october(world)
    org = scene.organization(world)
    first = reports.build_monthly_report(org, "2026-10", now=NOW).report
    report_id, sha = first.id, first.pdf_sha256
    again = reports.build_monthly_report(org, "2026-10", now=NOW + timedelta(hours=1))
    assert again.report.id == report_id and again.emails_queued == 0
    assert len(report_emails()) == 1
    assert again.report.emailed_at == NOW  # when the customers were last told
    assert again.report.pdf_sha256 != sha  # the new build time is printed
    scene.add_alert(world.org_a, "critical", "wazuh", 1, scene.T3)  # a late correction
    changed = reports.build_monthly_report(org, "2026-10", now=NOW + timedelta(hours=2))
    assert changed.emails_queued == 1 and len(report_emails()) == 2
    assert changed.report.data["alerts"]["alerts"] == 6
    assert changed.report.emailed_at == NOW + timedelta(hours=2)
    assert db.session.scalar(select(func.count(MonthlyReport.id))) == 1
    path = reports_dir / changed.report.pdf_path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == changed.report.pdf_sha256
    assert len(list(path.parent.iterdir())) == 1


def test_without_email_nothing_is_queued(ctx, world, reports_dir):
    result = reports.build_monthly_report(scene.organization(world), "2026-10", now=NOW,
                                          email=False)
    assert result.emails_queued == 0 and result.report.emailed_at is None
    assert report_emails() == []


@pytest.mark.parametrize("month, reason", [("2026-12", "future_month"),
                                           ("2026-13", None)])
def test_a_refused_build_writes_nothing(ctx, world, reports_dir, month, reason):
    with pytest.raises(InvalidInput) as refused:
        reports.build_monthly_report(scene.organization(world), month, now=NOW)
    assert refused.value.details.get("reason") == reason
    assert db.session.scalar(select(func.count(MonthlyReport.id))) == 0
    assert not reports_dir.exists()


def test_an_organization_without_a_contract_in_the_month_gets_no_report(ctx, world,
                                                                        reports_dir):
    org_b = db.session.get(Organization, world.org_b)
    with pytest.raises(InvalidInput) as refused:
        reports.build_monthly_report(org_b, "2026-10", now=NOW)
    assert refused.value.details == {"field": "organization", "reason": "no_contract"}
    assert db.session.scalar(select(func.count(MonthlyReport.id))) == 0


def test_a_build_rolled_back_after_writing_leaves_no_file(ctx, world, reports_dir,
                                                          monkeypatch):
    def fail(*_args, **_kwargs):
        raise RuntimeError("the mail template broke")

    monkeypatch.setattr(reports, "enqueue", fail)
    with pytest.raises(RuntimeError):
        reports.build_monthly_report(scene.organization(world), "2026-10", now=NOW)
    db.session.rollback()
    assert db.session.scalar(select(func.count(MonthlyReport.id))) == 0
    assert list((reports_dir / "2026-10").iterdir()) == []


def test_an_unsafe_organization_code_does_not_become_a_path(ctx, world, reports_dir):
    org = scene.organization(world)
    org.code = "../../etc"
    db.session.commit()
    report = reports.build_monthly_report(org, "2026-10", now=NOW).report
    assert report.pdf_path == f"2026-10/org-{org.id}.pdf"
    assert (reports_dir / report.pdf_path).is_file()


def test_concurrent_builds_of_one_report_finish_one_after_the_other(app, world, reports_dir):
    with app.app_context():
        scene.alerts(world)
        db.session.remove()
    builders = 4
    barrier = threading.Barrier(builders)

    def build(n):
        with app.app_context():
            barrier.wait()
            result = reports.build_monthly_report(
                db.session.get(Organization, world.org_a), "2026-10",
                now=NOW + timedelta(minutes=n))
            emails = result.emails_queued
            db.session.remove()
        return emails

    with ThreadPoolExecutor(max_workers=builders) as pool:
        emails = list(pool.map(build, range(builders)))
    assert sorted(emails) == [0, 0, 0, 1]  # the same figures: one e-mail only
    with app.app_context():
        report = db.session.scalars(select(MonthlyReport)).one()
        path = reports_dir / report.pdf_path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == report.pdf_sha256
        assert len(list(path.parent.iterdir())) == 1
        assert len(report_emails()) == 1
        db.session.remove()
