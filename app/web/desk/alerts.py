"""The desk's view of monitoring alerts: the newest first, filtered, with their incidents.

Staff only: technicians and insurers use the console too, but alerts are none of theirs.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import access
from app.domain.alerts.normalized import SEVERITIES
from app.errors import AppError
from app.services.incidents.queries import ALERT_FILTERS, list_alerts
from app.services.monitoring.ingest import recent_refusals
from app.web.desk import bp

PAGE_SIZE = 50
REFUSED_SHOWN_BYTES = 4096  # of each kept body, on the page (64 KiB are kept)


def _filters():
    """The filters of the query string; a non-numeric organization is no filter."""
    filters = {name: request.args.get(name, "").strip()
               for name in (*ALERT_FILTERS, "organization")}
    if filters["organization_id"]:
        filters["organization_id"] = request.args.get("organization_id", type=int)
    return filters


@bp.get("/alerts")
def alerts():
    """Recent alerts, newest first: count, first and last sighting, host, rule, incident."""
    access.require(current_user, "alerts.read")
    filters = _filters()
    try:
        page = list_alerts(current_user, filters, cursor=request.args.get("cursor"),
                           limit=PAGE_SIZE)
    except AppError as exc:
        flash(exc.message, "error")
        return redirect(url_for("desk.alerts"))
    return render_template("desk/alerts.html", page=page, filters=filters,
                           severities=SEVERITIES)


@bp.get("/alerts/refused")
def refused_alerts():
    """Bodies the ingest refused, newest first, with the reason: to fix a sensor's settings."""
    access.require(current_user, "alerts.refused")
    return render_template("desk/refused_alerts.html", refusals=recent_refusals(PAGE_SIZE),
                           shown_bytes=REFUSED_SHOWN_BYTES)
