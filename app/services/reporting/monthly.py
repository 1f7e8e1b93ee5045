"""Monthly reports (月次レポート): one per customer organization and JST calendar month.

`monthly_figures` counts what happened in the month (app/services/reporting/figures.py,
definitions in docs/reports.md); `build_monthly_report` freezes the figures in a
MonthlyReport row together with their PDF and tells the organization's customer users by
e-mail, in one commit. Pages, API and PDF read the frozen figures only, so they always
agree. Customers see their own organization's reports; desk, dispatcher and admin every
organization's; nobody else any.
"""

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func, or_, select

from app import access
from app.domain.timeutil import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.files import keep_only_if_committed
from app.models import Contract, MonthlyReport, Notification, Organization, User
from app.rendering.report_pdf import render_pdf
from app.services.paging import Page, decode_cursor, encode_cursor
from app.services.reporting import figures
from app.services.reporting.figures import MONTH, parse_month
from notifications.outbox import enqueue

SCHEMA = "monthly-report/1"
SAFE_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


@dataclass(frozen=True)
class BuildResult:
    """A built report and how many e-mails about it were queued by this build."""

    report: MonthlyReport
    emails_queued: int


def monthly_figures(organization, month, now=None):
    """The organization's figures for the month as a plain JSON-ready dict."""
    period = parse_month(month)
    now = now or utcnow()
    org_id = organization.id
    return {
        "schema": SCHEMA, "month": period.text,
        "period": {"first_day": period.first_day.isoformat(),
                   "last_day": period.last_day.isoformat(), "time_zone": "Asia/Tokyo"},
        "organization": {"id": org_id, "code": organization.code, "name": organization.name},
        "alerts": figures.alerts(org_id, period),
        "incidents": figures.incidents(org_id, period),
        "sla": figures.sla(org_id, period, now),
        "dispatches": figures.dispatches(org_id, period),
        "costs": figures.costs(org_id, period),
        "claims": figures.claims(org_id, period),
    }


# ---------------------------------------------------------------- who gets a report


def contract_in_month(period):
    """The condition "a contract of the organization is active on a day of the month"."""
    return select(Contract.id).where(
        Contract.organization_id == Organization.id, Contract.starts_on <= period.last_day,
        or_(Contract.ends_on.is_(None), Contract.ends_on >= period.first_day)).exists()


def organizations_for(period):
    """Organizations with a contract active on any day of the month, by code."""
    return db.session.scalars(select(Organization).where(contract_in_month(period))
                              .order_by(Organization.code)).all()


def _check_buildable(organization, period, now):
    if period.start > now:
        raise InvalidInput(f"The month {period.text} has not started yet.",
                           {"field": "month", "reason": "future_month"})
    covered = db.session.scalar(select(func.count(Organization.id)).where(
        Organization.id == organization.id, contract_in_month(period)))
    if not covered:
        raise InvalidInput(f"{organization.code} had no contract active in {period.text}.",
                           {"field": "organization", "reason": "no_contract"})


# ---------------------------------------------------------------- building


def reports_dir():
    """REPORTS_DIR of the configuration."""
    return Path(current_app.config["REPORTS_DIR"])


def pdf_file(report):
    """The path of a report's PDF; NotFound when the file is not there."""
    path = reports_dir() / report.pdf_path
    if not report.pdf_path or not path.is_file():
        raise NotFound("The report's PDF is missing; rebuild the report.")
    return path


def _file_stem(organization):
    """The organization's code when it is safe as a file name, else its id."""
    code = organization.code or ""
    return code if SAFE_FILE_STEM.fullmatch(code) else f"org-{organization.id}"


def _write_temp_pdf(relative, content):
    """Write the PDF next to its final place under a temporary name; (temp path, sha256)."""
    folder = (reports_dir() / relative).parent
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".", suffix=".tmp",
                                     delete=False) as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    keep_only_if_committed(handle.name)  # a rolled-back build leaves no file behind
    return Path(handle.name), hashlib.sha256(content).hexdigest()


def _lock_organization(organization):
    """One build of an organization at a time (SQLite: BEGIN IMMEDIATE already serializes)."""
    query = select(Organization.id).where(Organization.id == organization.id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    db.session.execute(query)


def build_monthly_report(organization, month, now=None, email=True):
    """Freeze the month's figures and their PDF, e-mail the customers, commit once.

    Rebuilding replaces the report (same row, same file name). The PDF is written under a
    temporary name (deleted if anything fails before the commit) and renamed over the old
    one just before the commit, while the organization is locked: concurrent builds finish
    one after the other, so the file on disk is always the last committed build's.
    """
    now = now or utcnow()
    period = parse_month(month)
    _check_buildable(organization, period, now)
    _lock_organization(organization)
    report = db.session.scalars(select(MonthlyReport).where(
        MonthlyReport.organization_id == organization.id,
        MonthlyReport.month == period.text)).first()
    if report is None:
        report = MonthlyReport(organization_id=organization.id, month=period.text)
        db.session.add(report)
    report.data, report.built_at = monthly_figures(organization, period.text, now), now
    report.pdf_path = f"{period.text}/{_file_stem(organization)}.pdf"
    temp, report.pdf_sha256 = _write_temp_pdf(report.pdf_path, render_pdf(report))
    db.session.flush()  # the e-mails' dedupe keys name the report
    emails = _email_customers(report, organization, now) if email else 0
    os.replace(temp, reports_dir() / report.pdf_path)
    db.session.commit()
    return BuildResult(report, emails)


def build_month(month, organization_code=None, now=None, email=True):
    """Build the month's report of every organization under contract, or of the one named."""
    now = now or utcnow()
    period = parse_month(month)
    if organization_code is None:
        organizations = organizations_for(period)
    else:
        organizations = [_organization_by_code(organization_code)]
    for organization in organizations:  # every refusal before anything is written
        _check_buildable(organization, period, now)
    return [build_monthly_report(o, period.text, now=now, email=email) for o in organizations]


def _organization_by_code(code):
    organization = db.session.scalars(select(Organization).where(
        Organization.code == str(code).strip())).first()
    if organization is None:
        raise NotFound(f"No organization has the code {code}.", {"field": "organization"})
    return organization


def figures_digest(data):
    """A short hash of the figures: the same figures give the same e-mail dedupe key."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _email_customers(report, organization, now):
    """Queue the report e-mail to each active customer user; how many were new.

    The dedupe key names the report, the user and the figures: building again with
    unchanged figures sends nothing more, a rebuild that changed them sends the update.
    """
    users = db.session.scalars(select(User).where(
        User.organization_id == organization.id, User.role == "customer", User.active)
        .order_by(User.id)).all()
    digest = figures_digest(report.data)
    keys = {u.id: f"monthly_report:{report.id}:{report.month}:{u.id}:{digest}" for u in users}
    sent = set(db.session.scalars(select(Notification.dedupe_key).where(
        Notification.dedupe_key.in_(list(keys.values())))))
    context = {"organization": organization.name, "month": report.month,
               "url": current_app.config["PUBLIC_BASE_URL"].rstrip("/")
               + f"/reports/{report.month}"}
    fresh = [u for u in users if keys[u.id] not in sent]
    for user in fresh:
        enqueue("email", user.email, "monthly_report", context, dedupe_key=keys[user.id],
                now=now)
    if fresh:
        report.emailed_at = now
    return len(fresh)


# ---------------------------------------------------------------- reading, as a user may


def list_reports(user, organization_id=None, month=None, cursor=None, limit=50):
    """Reports `user` may see, newest first, optionally of one organization and month."""
    stmt = access.scope_reports(select(MonthlyReport), user)
    if organization_id is not None:
        stmt = stmt.where(MonthlyReport.organization_id == organization_id)
    if month:
        stmt = stmt.where(MonthlyReport.month == parse_month(month).text)
    if cursor:
        stmt = stmt.where(MonthlyReport.id < decode_cursor(cursor))
    rows = db.session.scalars(stmt.order_by(MonthlyReport.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more else None)


def find_report_for(user, month, organization_id=None):
    """A month's report of the user's organization (customers) or of the one named (staff)."""
    if MONTH.fullmatch(str(month)) is None:
        raise NotFound("Report not found.")
    if organization_id is None:
        organization_id = access.own_organization_id(user)
    report = db.session.scalars(access.scope_reports(select(MonthlyReport).where(
        MonthlyReport.organization_id == organization_id, MonthlyReport.month == month),
        user)).first()
    if report is None:
        raise NotFound("Report not found.")
    return report
