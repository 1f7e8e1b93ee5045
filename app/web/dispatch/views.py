"""The dispatcher's board: incidents needing or holding a technician, and its buttons.

The board only reads; every button calls one service of app/services/dispatch/visits.py,
and a refusal is flashed with nothing changed.
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, func, select

from app.access import get_incident_for
from app.domain.timeutil import utcnow
from app.errors import AppError
from app.extensions import db
from app.models import (
    Dispatch,
    EscalationStep,
    Incident,
    IncidentEvent,
    Organization,
    Technician,
)
from app.services.dispatch.offers import candidates, candidates_by_incident
from app.services.dispatch.visits import cancel_dispatch, override, reoffer
from app.services.incidents.sla import clocks_by_incident
from app.services.paging import MAX_PAGE
from app.web.dispatch import bp
from app.web.dispatch.forms import CancelDispatchForm, OverrideForm, ReofferForm
from app.web.formutil import flash_form_errors
from workflows import DISPATCH
from workflows.dispatch import HOLDING_STATES, OPEN_STATES
from workflows.incident import ONSITE_STATES

BOARD_STATES = ONSITE_STATES  # needing or holding a technician
LIVE_DISPATCH_STATES = (*OPEN_STATES, *HOLDING_STATES)
# A dispatcher withdraws offers and accepted visits; one on the way or on site is not.
CANCELLABLE_STATES = DISPATCH.sources_of("cancel")
# The board shows a page of the longest waiting incidents, as the lists do (DESIGN §8: 50 a
# page); more pages follow. Each row offers the best few candidates; every other active
# technician is on the incident's own override page, so that a row stays small.
BOARD_PAGE = 50
BOARD_CANDIDATES = 5
# What a board row shows of its incident. The board only reads, so its rows are plain
# result rows, not ORM objects: loading 50 incidents with their dispatches, technicians and
# timers into the identity map cost more than the queries themselves (docs/benchmarks.md).
BOARD_COLUMNS = (Incident.id, Incident.reference, Incident.state, Incident.severity,
                 Incident.category, Incident.summary,
                 Organization.name.label("organization_name"), Organization.prefecture)
LIVE_COLUMNS = (Dispatch.id, Dispatch.incident_id, Dispatch.state, Dispatch.escalation_step,
                Technician.name.label("technician_name"),
                Technician.company.label("technician_company"),
                EscalationStep.action.label("step_action"),
                EscalationStep.due_at.label("step_due_at"))


@dataclass
class LiveDispatch:
    """An open offer or the visit of a board row."""

    id: int
    state: str
    escalation_step: int
    technician_name: str
    technician_company: str


@dataclass
class NextStep:
    """The earliest pending escalation timer of a board row."""

    action: str
    due_at: datetime
    technician_name: str


@dataclass
class BoardRow:
    """One incident on the board, with what the dispatcher needs to decide."""

    incident: object  # a result row of BOARD_COLUMNS and requested_at
    waited_minutes: int  # since the request, whole minutes
    live: list = field(default_factory=list)  # LiveDispatch, oldest first
    next_step: NextStep | None = None
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
    """Rows of BOARD_COLUMNS and requested_at for one page, the oldest request first, and
    whether more follow."""
    requested_at = _requested_at()
    stmt = (select(*BOARD_COLUMNS, requested_at).join(Incident.organization)
            .where(Incident.state.in_(BOARD_STATES))
            .order_by(requested_at, Incident.id)
            .offset((page - 1) * BOARD_PAGE).limit(BOARD_PAGE + 1))
    rows = db.session.execute(stmt).all()
    return rows[:BOARD_PAGE], len(rows) > BOARD_PAGE


def _live_by_incident(incident_ids):
    """{incident id: ([LiveDispatch], next NextStep)}: the live dispatches with their
    technicians and pending timers, in one statement for the page."""
    pending = and_(EscalationStep.dispatch_id == Dispatch.id, EscalationStep.status == "pending")
    rows = db.session.execute(
        select(*LIVE_COLUMNS).join(Dispatch.technician).outerjoin(EscalationStep, pending)
        .where(Dispatch.incident_id.in_(incident_ids), Dispatch.state.in_(LIVE_DISPATCH_STATES))
        .order_by(Dispatch.id, EscalationStep.due_at))
    live, next_steps = {}, {}
    for row in rows:
        dispatches = live.setdefault(row.incident_id, {})
        if row.id not in dispatches:
            dispatches[row.id] = LiveDispatch(row.id, row.state, row.escalation_step,
                                              row.technician_name, row.technician_company)
        step = next_steps.get(row.incident_id)
        if row.step_due_at is not None and (step is None or row.step_due_at < step.due_at):
            next_steps[row.incident_id] = NextStep(row.step_action, row.step_due_at,
                                                   row.technician_name)
    return {incident_id: (list(dispatches.values()), next_steps.get(incident_id))
            for incident_id, dispatches in live.items()}


def _board_rows(found, now):
    """[BoardRow] of a page's incidents: their live dispatches, clocks and candidates."""
    ids = [incident.id for incident in found]
    live = _live_by_incident(ids)
    clocks = clocks_by_incident(ids)
    ranked = candidates_by_incident(
        [(i.id, i.prefecture, i.category) for i in found if i.state == "dispatch_requested"],
        now)
    rows = []
    for incident in found:
        dispatches, next_step = live.get(incident.id, ([], None))
        rows.append(BoardRow(
            incident=incident,
            waited_minutes=max(int((now - incident.requested_at).total_seconds() // 60), 0),
            live=dispatches, next_step=next_step,
            clocks=clocks.get(incident.id, []),
            candidates=ranked.get(incident.id, [])[:BOARD_CANDIDATES]))
    return rows


def _page_number():
    """The ?page= asked for (1 when absent); None when it is not a whole number from 1."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE else None


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
    rows = _board_rows(found, now)
    return render_template(
        "dispatch/board.html", rows=rows, now=now, page=page, more=more,
        refresh=request.args.get("refresh") != "off",
        refresh_seconds=current_app.config["LIVE_LIST_SECONDS"], cancellable=_cancellable_states())


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
