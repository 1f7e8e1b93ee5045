"""Pages of the provider dashboard: figures, their drill-down lists, the liaison export.

Every number shown links to /dashboard/incidents with its metric and key; that page lists
the incidents of the very query that counted them (app/services/reporting/dashboard.py).
"""

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.domain.labels import CATEGORY_LABELS, SEVERITY_LABELS, prefecture_name
from app.domain.timeutil import utcnow
from app.errors import InvalidInput
from app.models.incident import CATEGORIES, SEVERITIES
from app.models.sla import CLOCK_NAMES
from app.rendering.charts import bar_chart, to_svg
from app.services.reporting import dashboard, liaison
from app.services.reporting.dashboard import ALL
from app.web.dashboard import bp
from app.web.dashboard.forms import PeriodForm

PAGE_SIZE = 50
CLOCK_LABELS = {
    "first_response": _l("First response"),
    "acknowledgement": _l("Technician acknowledgement"),
    "arrival": _l("Arrival on site"),
    "claim_submission": _l("Claim submission"),
    "leak_preliminary": _l("Leak report (preliminary)"),
    "leak_final": _l("Leak report (final)"),
    ALL: _l("All clocks (incidents with any)"),
}
METRIC_LABELS = {
    "received": _l("Incidents received"),
    "category": _l("Incidents by category"),
    "prefecture": _l("Incidents by prefecture"),
    "mtta": _l("Time to first response (MTTA)"),
    "time_to_site": _l("Time to site"),
    "sla_started": _l("SLA clocks started"),
    "sla_breached": _l("SLA clocks missed or breached"),
    "cost": _l("Incidents with approved costs"),
    "claim_cycle": _l("Claims paid (claim cycle time)"),
    "alert_incidents": _l("Incidents from alerts"),
}

# What a refused drill-down says, by the refused parameter.
DRILL_ERRORS = {"metric": _l("Unknown figure."), "key": _l("Unknown figure."),
                "cursor": _l("The page link is not valid.")}


def _period_form():
    form = PeriodForm(formdata=request.args)
    form.check(utcnow())
    return form


def key_label(metric, key):
    """What a drill-down key means, in words."""
    if key == ALL:
        return ""
    if metric == "category":
        return str(CATEGORY_LABELS[key])
    if metric == "prefecture":
        return prefecture_name(int(key))
    if metric.startswith("sla_"):
        return str(CLOCK_LABELS[key])
    return str(SEVERITY_LABELS.get(key, key))


def _charts(board):
    """Inline SVG bar charts of incidents by category and by prefecture."""
    counts = [board.get("category", c).count for c in CATEGORIES]
    by_category = bar_chart(_("Incidents by category"),
                            [str(CATEGORY_LABELS[c]) for c in CATEGORIES], counts)
    prefectures = sorted((int(key) for metric, key in board.figures
                          if metric == "prefecture" and key != ALL))
    by_prefecture = bar_chart(_("Incidents by prefecture"),
                              [prefecture_name(p) for p in prefectures],
                              [board.get("prefecture", str(p)).count for p in prefectures])
    return {"category": to_svg(by_category, _("Incidents by category")),
            "prefecture": to_svg(by_prefecture, _("Incidents by prefecture")),
            "prefectures": prefectures}


@bp.get("/")
def index():
    """The figures of the chosen period (default: the last 30 days)."""
    form = _period_form()
    board = dashboard.compute(form.period, utcnow()) if form.period else None
    return render_template(
        "dashboard/index.html", form=form, board=board,
        charts=_charts(board) if board else None, categories=CATEGORIES,
        severities=SEVERITIES, clocks=(*CLOCK_NAMES, ALL), clock_labels=CLOCK_LABELS,
        ALL=ALL), 200 if board else 422


@bp.get("/incidents")
def incidents():
    """The incidents behind one figure, newest first, a page at a time."""
    form = _period_form()
    metric, key = request.args.get("metric", ""), request.args.get("key", ALL)
    page, error = None, None
    if form.period:
        try:
            page = dashboard.drill_down(metric, key, form.period, utcnow(),
                                        cursor=request.args.get("cursor"), limit=PAGE_SIZE)
        except InvalidInput as exc:
            error = DRILL_ERRORS[exc.details["field"]]
    return render_template(
        "dashboard/incidents.html", form=form, page=page, error=error, metric=metric,
        key=key, title=METRIC_LABELS.get(metric, ""), key_text=key_label(metric, key)
        if page else ""), 200 if page else 422


@bp.get("/liaison")
def liaison_page(error=None):
    """The liaison-meeting statistics of a period: a preview and the downloads."""
    form = _period_form()
    report = liaison.build(form.period) if form.period and not error else None
    return render_template("dashboard/liaison.html", form=form, report=report,
                           error=error), 200 if report else 422


@bp.get("/liaison/export")
def liaison_export():
    """The liaison statistics as a CSV (UTF-8 with BOM, for Excel) or JSON download."""
    form = _period_form()
    fmt = request.args.get("format", "csv")
    if fmt not in liaison.EXPORT_TYPES:
        return liaison_page(error=_("Choose CSV or JSON."))
    if form.period is None:
        return liaison_page()
    name = liaison.export_name(form.period, fmt)
    return Response(liaison.export(liaison.build(form.period), fmt),
                    content_type=liaison.EXPORT_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.context_processor
def _formats():
    """How the dashboard's templates show durations and days (yen: a global of every page)."""
    return {"duration": duration, "days": days}


def duration(seconds):
    """e.g. 1 h 05 min; a dash when there is nothing to show."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    return _("%(hours)d h %(minutes)02d min", hours=minutes // 60, minutes=minutes % 60)


def days(value):
    """e.g. 12.5 days."""
    return "—" if value is None else _("%(days).1f days", days=value)


