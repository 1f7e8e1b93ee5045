"""Pages of the monthly reports: the list, one report (figures, charts, PDF), the staff's build.

Every figure shown comes from the report's frozen data (MonthlyReport.data), laid out by
app/rendering/report_tables.py exactly as the PDF lays it out.
"""

from pathlib import Path

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import access
from app.auth import permission_required
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import Organization
from app.rendering.charts import to_svg
from app.rendering.report_tables import sections
from app.services.directory.organizations import organization_choices
from app.services.reporting import monthly as reports
from app.web.formutil import choices, flash_form_errors
from app.web.reports import bp
from app.web.reports.forms import BuildReportForm

LIST_LIMIT = 200


def _is_staff():
    return access.can(current_user, "reports.manage")


def _build_form(**defaults):
    """The build form with every organization to choose from (staff only)."""
    form = BuildReportForm(**defaults)
    form.organization_id.choices = choices(
        (o.id, f"{o.code} {o.name}") for o in organization_choices(current_user))
    return form


def _filters():
    """organization_id and month of the list, checked; a bad one is a form error, ignored."""
    organization_id = request.args.get("organization_id", type=int) if _is_staff() else None
    month = (request.args.get("month") or "").strip() or None
    if month is not None:
        try:
            month = reports.parse_month(month).text
        except InvalidInput as exc:
            flash(exc.message, "error")
            month = None
    return organization_id, month


@bp.get("/")
def index():
    """The reports you may see, newest first; staff choose the organization and month."""
    organization_id, month = _filters()
    page = reports.list_reports(current_user, organization_id, month, limit=LIST_LIMIT)
    staff = _is_staff()
    return render_template(
        "reports/list.html", reports=page.items, more=page.next_cursor is not None,
        organization_id=organization_id, month=month,
        organizations=organization_choices(current_user) if staff else [],
        form=_build_form(organization_id=organization_id, month=month) if staff else None)


def _report_for(month):
    """The month's report of the customer's organization, or of ?organization_id= (staff)."""
    organization_id = request.args.get("organization_id", type=int)
    if _is_staff() and organization_id is None:
        return None
    return reports.find_report_for(current_user, month, organization_id)


@bp.get("/<month>")
def report(month):
    """One report: its sections with inline SVG charts, and the PDF download."""
    found = _report_for(month)
    if found is None:  # staff without an organization: the month's reports to choose from
        return redirect(url_for("reports.index", month=month))
    parts = sections(found.data)
    charts = {s.key: to_svg(s.chart, s.chart_label) for s in parts if s.chart is not None}
    form = _build_form(organization_id=found.organization_id, month=found.month) \
        if _is_staff() else None
    return render_template("reports/report.html", report=found, sections=parts,
                           charts=charts, form=form)


@bp.get("/<month>/pdf")
def pdf(month):
    """The report's PDF as built (the same figures as the page)."""
    found = _report_for(month)
    if found is None:
        raise NotFound("Report not found.")
    response = send_file(reports.pdf_file(found), mimetype="application/pdf",
                         as_attachment=True, max_age=0,
                         download_name=f"monthly-report-{found.month}-"
                                       f"{Path(found.pdf_path).name}")
    response.headers["X-Content-SHA256"] = found.pdf_sha256
    return response


@bp.post("/build")
@permission_required("reports.manage")
def build():
    """Build or rebuild one organization's report of a month (staff)."""
    form = _build_form()
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("reports.index"))
    organization = db.session.get(Organization, form.organization_id.data)
    if organization is None:
        abort(404)
    try:
        result = reports.build_monthly_report(organization, form.month.data)
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports.index", organization_id=organization.id))
    flash(_("The report of %(month)s was built; %(count)s e-mail(s) queued.",
            month=result.report.month, count=result.emails_queued), "success")
    return redirect(url_for("reports.report", month=result.report.month,
                            organization_id=organization.id))
