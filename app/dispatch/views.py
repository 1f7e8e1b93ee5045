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
from sqlalchemy.orm import joinedload, load_only, selectinload

from app.dispatch import bp
from app.dispatch.forms import CancelDispatchForm, OverrideForm, ReofferForm
from app.errors import AppError
from app.extensions import db
from app.formutil import flash_form_errors
from app.models import (
    Dispatch,
    EscalationStep,
    Incident,
    IncidentEvent,
    Organization,
    Technician,
)
from app.services.dispatch import cancel_dispatch, override, reoffer
from app.services.offers import candidates, candidates_by_incident
from app.services.queries import get_incident_for
from app.services.sla import clocks_by_incident
from app.timeutil import utcnow
from workflows import DISPATCH
from workflows.dispatch import HOLDING_STATES

BOARD_STATES = ("dispatch_requested", "technician_assigned", "en_route", "on_site")
LIVE_DISPATCH_STATES = ("offered", *HOLDING_STATES)
# cancel_dispatch releases offers and accepted visits; one on the way or on site is not.
CANCELLABLE_STATES = ("offered", "accepted")
# The board shows a page of the longest waiting incidents, as the lists do (DESIGN §8: 50 a
# page); more pages follow. Each row offers the best few candidates; every other active
# technician is on the incident's own override page, so that a row stays small.
BOARD_PAGE = 50
BOARD_CANDIDATES = 5
REFRESH_SECONDS = 15
# What a board row shows, the only columns loaded.
BOARD_COLUMNS = (Incident.reference, Incident.state, Incident.severity, Incident.category,
                 Incident.summary, Incident.organization_id, Incident.created_at)
DISPATCH_COLUMNS = (Dispatch.incident_id, Dispatch.technician_id, Dispatch.state,
                    Dispatch.escalation_step)
STEP_COLUMNS = (EscalationStep.dispatch_id, EscalationStep.action, EscalationStep.due_at,
                EscalationStep.status)


@dataclass
class BoardRow:
    """One incident on the board, with what the dispatcher needs to decide."""

    incident: Incident
    requested_at: datetime
    waited: timedelta
    live: list = field(default_factory=list)  # offers and the visit, oldest first
    next_step: object = None  # the earliest pending EscalationStep of the incident
    clocks: list = field(default_factory=list)  # its SLA clocks (the board shows running ones)
    candidates: list = field(default_factory=list)  # the best few, when dispatch_requested


def _requested_at():
    """When dispatch was last requested (the request_dispatch event), else when reported."""
    last_request = (select(func.max(IncidentEvent.occurred_at))
                    .where(IncidentEvent.incident_id == Incident.id,
                           IncidentEvent.trigger == "request_dispatch")
                    .scalar_subquery())
    return func.coalesce(last_request, Incident.created_at).label("requested_at")


def _board_page(page):
    """[(incident, requested_at)] of one page, the oldest request first, and whether more
    follow. Only what a row shows is loaded: its live dispatches with their technicians and
    pending timers (one more statement for the whole page)."""
    requested_at = _requested_at()
    live = Incident.dispatches.and_(Dispatch.state.in_(LIVE_DISPATCH_STATES))
    pending = Dispatch.escalations.and_(EscalationStep.status == "pending")
    stmt = (select(Incident, requested_at).where(Incident.state.in_(BOARD_STATES))
            .options(load_only(*BOARD_COLUMNS),
                     joinedload(Incident.organization).load_only(Organization.name,
                                                                  Organization.prefecture),
                     selectinload(live).load_only(*DISPATCH_COLUMNS)
                     .joinedload(Dispatch.technician).load_only(Technician.name,
                                                                Technician.company),
                     selectinload(live).joinedload(pending).load_only(*STEP_COLUMNS))
            .order_by(requested_at, Incident.id)
            .offset((page - 1) * BOARD_PAGE).limit(BOARD_PAGE + 1))
    rows = db.session.execute(stmt).all()
    return rows[:BOARD_PAGE], len(rows) > BOARD_PAGE


def _row(incident, requested_at, now, clocks, ranked):
    live = [d for d in incident.dispatches if d.state in LIVE_DISPATCH_STATES]
    pending = [s for d in live for s in d.escalations if s.status == "pending"]
    return BoardRow(incident=incident, requested_at=requested_at, waited=now - requested_at,
                    live=live,
                    next_step=min(pending, key=lambda s: s.due_at, default=None),
                    clocks=clocks, candidates=ranked[:BOARD_CANDIDATES])


def _page_number():
    """The ?page= asked for (1 when absent); None when it is not a whole number from 1."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and int(raw) >= 1 else None


@bp.get("/")
def board():
    """Open incidents needing or holding a technician, the oldest request first, a page at a
    time. A fixed number of statements whatever the number of rows: the page (incidents,
    organizations, request times), its live dispatches (technicians, pending timers), the
    SLA clocks, and the candidates of every waiting incident at once (two statements,
    offers.candidates_by_incident)."""
    page = _page_number()
    if page is None:
        flash(_("The page number is not valid."), "error")
        return redirect(url_for("dispatch.board"))
    now = utcnow()
    found, more = _board_page(page)
    incidents = [incident for incident, _requested in found]
    clocks = clocks_by_incident([i.id for i in incidents])
    ranked = candidates_by_incident(
        [i for i in incidents if i.state == "dispatch_requested"], now)
    rows = [_row(incident, requested_at, now, clocks.get(incident.id, []),
                 ranked.get(incident.id, [])) for incident, requested_at in found]
    return render_template(
        "dispatch/board.html", rows=rows, now=now, page=page, more=more,
        refresh=request.args.get("refresh") != "off", refresh_seconds=REFRESH_SECONDS,
        cancellable=_cancellable_states())


def _technician_choices(ranked):
    """Every active technician for the override: ranked candidates first, then by name."""
    ranked_ids = {t.id for t in ranked}
    rest = db.session.scalars(select(Technician).where(
        Technician.active, Technician.id.not_in(ranked_ids)).order_by(Technician.name)).all()
    return [(t.id, f"{t.name} ({t.company})", True) for t in ranked] + \
        [(t.id, f"{t.name} ({t.company})", False) for t in rest]


@bp.get("/incidents/<int:incident_id>/override")
def choose_technician(incident_id):
    """The override with any active technician, for one incident waiting for one."""
    incident = get_incident_for(current_user, incident_id)
    if incident.state != "dispatch_requested":
        flash(_("The incident is not waiting for a technician."), "error")
        return redirect(url_for("dispatch.board"))
    return render_template("dispatch/override.html", incident=incident,
                           choices=_technician_choices(candidates(incident, utcnow())))


def _cancellable_states():
    """The dispatch states whose withdraw button the user gets (asked once per page)."""
    return {state for state in CANCELLABLE_STATES
            if "cancel" in DISPATCH.allowed_triggers(state, current_user.role)}


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
