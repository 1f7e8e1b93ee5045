"""Dispatch endpoints: candidates, offers, the dispatcher's override and re-offer, and the
technician's answers and visit steps.

A technician token only ever reaches the technician's own dispatches; anything else is
the same 404 as a missing one.
"""

from flask import g
from flask_openapi3 import Tag
from sqlalchemy import select

from app import access
from app.access import get_dispatch_visible_to, get_incident_for
from app.api import bp
from app.api import dispatch_serializers as out
from app.api.dispatch_schemas import (
    CandidateList,
    DispatchList,
    DispatchListQuery,
    DispatchOut,
    DispatchPath,
    DispatchTransitionRequest,
    OverrideRequest,
    ReofferRequest,
    SignOffRequest,
)
from app.api.schemas import IncidentPath
from app.domain.timeutil import isoformat_utc, utcnow
from app.errors import Conflict, Forbidden
from app.extensions import db
from app.models import Dispatch
from app.services.dispatch import visits as service
from app.services.dispatch.offers import candidates, load_by_technician
from app.services.dispatch.signoff import sign_off
from app.services.dispatch.technicians import current_shifts
from app.services.incidents.queries import notifications_by_dispatch
from workflows import DISPATCH
from workflows.dispatch import HOLDING_STATES, OPEN_STATES

TAG = Tag(name="dispatches", description="On-site dispatch: offers, visits, escalation")
LIST_LIMIT = 200


def _dispatches_out(dispatches, user):
    messages = notifications_by_dispatch(dispatches)
    return [out.dispatch(d, user, messages.get(d.id, [])) for d in dispatches]


def _dispatch_out(dispatch, user):
    return _dispatches_out([dispatch], user)[0]


@bp.get("/incidents/<int:incident_id>/candidates", tags=[TAG],
        responses={200: CandidateList})
def list_candidates(path: IncidentPath):
    """Technicians to offer the incident to now, best first, with why each fits."""
    access.require(g.api_user, "dispatch.direct")
    incident = get_incident_for(g.api_user, path.incident_id)
    now = utcnow()
    ranked = candidates(incident, now)
    shifts = current_shifts([t.id for t in ranked], now)
    load = load_by_technician()
    return {"incident_id": incident.id, "as_of": isoformat_utc(now), "items": [
        out.candidate(rank, tech, incident, shifts[tech.id], load.get(tech.id, 0))
        for rank, tech in enumerate(ranked, start=1)]}


@bp.get("/incidents/<int:incident_id>/dispatches", tags=[TAG], responses={200: DispatchList})
def list_incident_dispatches(path: IncidentPath):
    """Every offer and visit of the incident with timers and messages (a technician: theirs)."""
    incident = get_incident_for(g.api_user, path.incident_id)
    return {"items": _dispatches_out(access.dispatches_seen_by(g.api_user, incident),
                                     g.api_user)}


@bp.post("/incidents/<int:incident_id>/dispatches", tags=[TAG], responses={201: DispatchOut})
def override_dispatch(path: IncidentPath, body: OverrideRequest):
    """The dispatcher offers the incident to a technician of their choice (open offers end)."""
    dispatch = service.override(path.incident_id, body.technician_id, g.api_user,
                                reason=body.reason.strip())
    return _dispatch_out(dispatch, g.api_user), 201


@bp.post("/incidents/<int:incident_id>/reoffer", tags=[TAG], responses={201: DispatchOut})
def reoffer_dispatch(path: IncidentPath, body: ReofferRequest):
    """Offer to the next best candidate now; 409 `no_candidate` (dispatchers paged) if none."""
    dispatch = service.reoffer(path.incident_id, g.api_user)
    if dispatch is None:
        raise Conflict("No further technician is on call for this incident; the dispatchers "
                       "have been paged.", {"reason": "no_candidate"})
    return _dispatch_out(dispatch, g.api_user), 201


@bp.get("/dispatches", tags=[TAG], responses={200: DispatchList})
def list_open_dispatches(query: DispatchListQuery):
    """Open offers and visits in progress, newest first; a technician's own only."""
    user = g.api_user
    access.require(user, "dispatches.list")
    if query.mine and getattr(user, "technician_id", None) is None:
        raise Forbidden("Only a technician has dispatches of their own.")
    stmt = access.scope_dispatches(
        select(Dispatch).where(Dispatch.state.in_(OPEN_STATES + HOLDING_STATES)), user)
    rows = db.session.scalars(stmt.order_by(Dispatch.id.desc()).limit(LIST_LIMIT)).all()
    return {"items": _dispatches_out(rows, user)}


@bp.get("/dispatches/<int:dispatch_id>", tags=[TAG], responses={200: DispatchOut})
def get_dispatch(path: DispatchPath):
    """One dispatch with its timers and messages."""
    return _dispatch_out(get_dispatch_visible_to(g.api_user, path.dispatch_id), g.api_user)


@bp.post("/dispatches/<int:dispatch_id>/transitions", tags=[TAG],
         responses={200: DispatchOut})
def transition_dispatch(path: DispatchPath, body: DispatchTransitionRequest):
    """Accept, decline, depart, arrive, complete or cancel; 409 `offer_closed` when the
    offer was taken or closed meanwhile."""
    access.require(g.api_user, "dispatches.act")
    params = body.model_dump(include=set(DISPATCH.params_of(body.trigger)))
    dispatch = service.fire(path.dispatch_id, body.trigger, g.api_user, params=params, via="api")
    return _dispatch_out(dispatch, g.api_user)


@bp.post("/dispatches/<int:dispatch_id>/sign-off", tags=[TAG], responses={200: DispatchOut})
def sign_off_dispatch(path: DispatchPath, body: SignOffRequest):
    """The customer confirms the visit's work report online (once, after the technician
    wrote it): 409 `no_work_report` before, `already_signed_off` the second time."""
    dispatch = sign_off(path.dispatch_id, g.api_user, body.comment)
    return _dispatch_out(dispatch, g.api_user)
