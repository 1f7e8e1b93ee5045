"""The dispatcher's board: incidents needing or holding a technician, and its buttons.

The board only reads; every button calls one service of app/services/dispatch.py,
and a refusal is flashed with nothing changed.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app.dispatch import bp
from app.dispatch.forms import CancelDispatchForm, OverrideForm, ReofferForm
from app.errors import AppError
from app.extensions import db
from app.formutil import flash_form_errors
from app.models import Dispatch, Incident, IncidentEvent, Technician
from app.services.dispatch import cancel_dispatch, override, reoffer
from app.services.offers import candidates
from app.services.sla import clocks_by_incident
from app.timeutil import utcnow
from workflows import DISPATCH
from workflows.dispatch import HOLDING_STATES

BOARD_STATES = ("dispatch_requested", "technician_assigned", "en_route", "on_site")
LIVE_DISPATCH_STATES = ("offered", *HOLDING_STATES)
# cancel_dispatch releases offers and accepted visits; one on the way or on site is not.
CANCELLABLE_STATES = ("offered", "accepted")
BOARD_LIMIT = 200
REFRESH_SECONDS = 15


@dataclass
class BoardRow:
    """One incident on the board, with what the dispatcher needs to decide."""

    incident: Incident
    requested_at: datetime
    waited: timedelta
    live: list = field(default_factory=list)  # offers and the visit, oldest first
    next_step: object = None  # the earliest pending EscalationStep of the incident
    clocks: list = field(default_factory=list)  # its SLA clocks (the board shows running ones)
    choices: list = field(default_factory=list)  # (id, label, is_candidate) for override


def _board_incidents():
    stmt = (select(Incident).where(Incident.state.in_(BOARD_STATES))
            .options(joinedload(Incident.organization),
                     selectinload(Incident.dispatches).joinedload(Dispatch.technician),
                     selectinload(Incident.dispatches).selectinload(Dispatch.escalations))
            .order_by(Incident.id).limit(BOARD_LIMIT))
    return db.session.scalars(stmt).unique().all()


def _requested_times(incident_ids):
    """When dispatch was last requested, per incident (the request_dispatch event)."""
    if not incident_ids:
        return {}
    rows = db.session.execute(
        select(IncidentEvent.incident_id, func.max(IncidentEvent.occurred_at))
        .where(IncidentEvent.incident_id.in_(incident_ids),
               IncidentEvent.trigger == "request_dispatch")
        .group_by(IncidentEvent.incident_id))
    return dict(rows.all())


def _technician_choices(incident, active, now):
    """Active technicians for the override select: ranked candidates first, then by name."""
    ranked = candidates(incident, now)
    ranked_ids = {t.id for t in ranked}
    rest = [t for t in active if t.id not in ranked_ids]
    return [(t.id, f"{t.name} ({t.company})", True) for t in ranked] + \
        [(t.id, f"{t.name} ({t.company})", False) for t in rest]


def _row(incident, requested_at, active, now, clocks):
    requested_at = requested_at or incident.created_at
    pending = [s for d in incident.dispatches for s in d.escalations if s.status == "pending"]
    row = BoardRow(incident=incident, requested_at=requested_at, waited=now - requested_at,
                   live=[d for d in incident.dispatches if d.state in LIVE_DISPATCH_STATES],
                   next_step=min(pending, key=lambda s: s.due_at, default=None), clocks=clocks)
    if incident.state == "dispatch_requested":
        row.choices = _technician_choices(incident, active, now)
    return row


@bp.get("/")
def board():
    """Open incidents needing or holding a technician, the oldest request first."""
    now = utcnow()
    incidents = _board_incidents()
    requested = _requested_times([i.id for i in incidents])
    clocks = clocks_by_incident([i.id for i in incidents])
    active = db.session.scalars(
        select(Technician).where(Technician.active).order_by(Technician.name)).all()
    rows = sorted((_row(i, requested.get(i.id), active, now, clocks.get(i.id, []))
                   for i in incidents), key=lambda r: (r.requested_at, r.incident.id))
    return render_template(
        "dispatch/board.html", rows=rows, now=now, refresh=request.args.get("refresh") != "off",
        refresh_seconds=REFRESH_SECONDS, override_form=OverrideForm(formdata=None),
        reoffer_form=ReofferForm(formdata=None), cancel_form=CancelDispatchForm(formdata=None),
        may_cancel=_may_cancel)


def _may_cancel(dispatch):
    return dispatch.state in CANCELLABLE_STATES and \
        "cancel" in DISPATCH.allowed_triggers(dispatch.state, current_user.role)


def _attempt(service, *args, done, **kwargs):
    """Call the service; its refusal is flashed and its transaction rolled back."""
    try:
        service(*args, **kwargs)
    except AppError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("dispatch.board"))


@bp.post("/incidents/<int:incident_id>/override")
def override_technician(incident_id):
    """Offer the incident to the technician the dispatcher chose."""
    form = OverrideForm()
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("dispatch.board"))
    return _attempt(override, incident_id, form.technician_id.data, current_user,
                    reason=form.reason.data or "",
                    done=_("The incident has been offered to the chosen technician."))


@bp.post("/incidents/<int:incident_id>/reoffer")
def reoffer_incident(incident_id):
    """Offer to the next best candidate now, without waiting for the timers."""
    form = ReofferForm()
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("dispatch.board"))
    try:
        offered = reoffer(incident_id, current_user)
    except AppError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The incident has been offered to the next candidate.") if offered else
              _("No further technician is on call for this incident; the dispatchers have "
                "been paged."), "success" if offered else "error")
    return redirect(url_for("dispatch.board"))


@bp.post("/dispatches/<int:dispatch_id>/cancel")
def cancel(dispatch_id):
    """Withdraw an offer or an accepted visit."""
    form = CancelDispatchForm()
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("dispatch.board"))
    return _attempt(cancel_dispatch, dispatch_id, current_user, form.reason.data,
                    done=_("The offer or assignment has been withdrawn."))
