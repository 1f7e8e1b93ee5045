"""Monthly reports over the API: list, one report's frozen figures, its PDF.

Scoped like the pages: a customer token reaches its own organization's reports (anything
else is 404), desk, dispatcher and admin tokens every organization's, others none (403).
"""

from datetime import datetime

from flask import current_app, g, send_file
from flask_openapi3 import Tag
from pydantic import BaseModel, Field

from app import access
from app.api import bp
from app.api.schemas import Id, Strict
from app.domain.timeutil import isoformat_utc
from app.services.reporting import monthly as reports

TAG = Tag(name="reports", description="Monthly reports (月次レポート) per organization")
PDF = {200: {"content": {"application/pdf": {"schema": {"type": "string",
                                                         "format": "binary"}}}}}


class MonthlyReportListQuery(Strict):
    organization_id: Id | None = None
    month: str | None = Field(None, pattern=f"^{reports.MONTH.pattern}$",
                              description="YYYY-MM (a JST calendar month)")
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=200)


class MonthlyReportPath(BaseModel):
    report_id: Id


class MonthlyReportOut(BaseModel):
    id: int
    organization: dict
    month: str
    built_at: datetime
    emailed_at: datetime | None
    pdf_sha256: str


class MonthlyReportDetail(MonthlyReportOut):
    figures: dict


class MonthlyReportPage(BaseModel):
    items: list[MonthlyReportOut]
    next_cursor: str | None


def report_out(report, detail=False):
    """A report as the API shows it; with detail, its figures (as the page and PDF show)."""
    organization = report.organization
    out = {"id": report.id, "month": report.month,
           "organization": {"id": organization.id, "code": organization.code,
                            "name": organization.name},
           "built_at": isoformat_utc(report.built_at),
           "emailed_at": isoformat_utc(report.emailed_at), "pdf_sha256": report.pdf_sha256}
    if detail:
        out["figures"] = report.data
    return out


@bp.get("/reports", tags=[TAG], responses={200: MonthlyReportPage})
def list_monthly_reports(query: MonthlyReportListQuery):
    """Reports you may see, newest first; filter by organization_id and month."""
    limit = min(query.limit, current_app.config["API_PAGE_SIZE_MAX"])
    page = reports.list_reports(g.api_user, query.organization_id, query.month,
                                cursor=query.cursor, limit=limit)
    return {"items": [report_out(r) for r in page.items], "next_cursor": page.next_cursor}


@bp.get("/reports/<int:report_id>", tags=[TAG], responses={200: MonthlyReportDetail})
def get_monthly_report(path: MonthlyReportPath):
    """One report with its figures (docs/reports.md defines them)."""
    return report_out(access.get_report_for(g.api_user, path.report_id), detail=True)


@bp.get("/reports/<int:report_id>/pdf", tags=[TAG], responses=PDF)
def download_monthly_report(path: MonthlyReportPath):
    """The report's PDF as built; X-Content-SHA256 carries its recorded hash."""
    report = access.get_report_for(g.api_user, path.report_id)
    response = send_file(reports.pdf_file(report), mimetype="application/pdf",
                         as_attachment=True, max_age=0,
                         download_name=f"monthly-report-{report.month}-{report.id}.pdf")
    response.headers["X-Content-SHA256"] = report.pdf_sha256
    return response
