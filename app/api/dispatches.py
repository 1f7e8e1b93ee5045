"""Dispatch endpoints: candidates, offers, the dispatcher's override and re-offer, and the
technician's answers and visit steps.

A technician token only ever reaches the technician's own dispatches; anything else is
the same 404 as a missing one.
"""

from flask import g
from flask_openapi3 import Tag
from sqlalchemy import select

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
)
from app.api.schemas import IncidentPath
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.models import Dispatch, Incident, Notification
from app.services import dispatch as service
from app.services.actors import require_role
from app.services.dispatch import _load_by_technician as load_by_technician
from app.services.queries import get_incident_for
from app.services.technicians import current_shifts
from app.timeutil import isoformat_utc, utcnow
from workflows.dispatch import HOLDING_STATES, OPEN_STATES

TAG = Tag(name="dispatches", description="On-site dispatch: offers, visits, escalation")
ACTING_ROLES = ("technician", *service.DISPATCH_ROLES)
LISTING_ROLES = ("technician", "desk", *service.DISPATCH_ROLES)
LIST_LIMIT = 200


def _messages_by_dispatch(dispatches):
    ids = [d.id for d in dispatches]
    messages = db.session.scalars(select(Notification).where(
        Notification.dispatch_id.in_(ids)).order_by(Notification.id)).all() if ids else []
    grouped = {}
    for message in messages:
        grouped.setdefault(message.dispatch_id, []).append(message)
    return grouped


def _dispatches_out(dispatches, user):
    messages = _messages_by_dispatch(dispatches)
    return [out.dispatch(d, user, messages.get(d.id, [])) for d in dispatches]


def _dispatch_out(dispatch, user):
    return _dispatches_out([dispatch], user)[0]


def _lock_incident(incident_id):
    """Serialise every change to one incident's dispatches (the row lock lasts to the commit).

    Without it, two accepts that load the same offer both write, and the loser's write
    fails inside an autoflush of app/services/dispatch.py (a stale row or a deadlock on the
    holder index on PostgreSQL) instead of as a 409; behind the lock the loser reads the
    winner's committed state and is refused cleanly. SQLite writers queue anyway.
    """
    db.session.execute(select(Incident.id).where(Incident.id == incident_id).with_for_update())


def _lock_incident_of(dispatch_id):
    incident_id = db.session.scalar(select(Dispatch.incident_id).where(
        Dispatch.id == dispatch_id))
    if incident_id is not None:
        _lock_incident(incident_id)


def _visible_dispatch(user, dispatch_id):
    """The dispatch if the user may see it: a technician their own, others by the incident."""
    if user.role == "technician":
        return service.get_dispatch_for(user, dispatch_id)
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None:
        raise NotFound("Dispatch not found.")
    get_incident_for(user, dispatch.incident_id)  # 404 unless the incident is visible
    return dispatch


@bp.get("/incidents/<int:incident_id>/candidates", tags=[TAG],
        responses={200: CandidateList})
def list_candidates(path: IncidentPath):
    """Technicians to offer the incident to now, best first, with why each fits."""
    require_role(g.api_user, service.DISPATCH_ROLES, "choose technicians")
    incident = get_incident_for(g.api_user, path.incident_id)
    now = utcnow()
    ranked = service.candidates(incident, now)
    shifts = current_shifts([t.id for t in ranked], now)
    load = load_by_technician()
    return {"incident_id": incident.id, "as_of": isoformat_utc(now), "items": [
        out.candidate(rank, tech, incident, shifts[tech.id], load.get(tech.id, 0))
        for rank, tech in enumerate(ranked, start=1)]}


@bp.get("/incidents/<int:incident_id>/dispatches", tags=[TAG], responses={200: DispatchList})
def list_incident_dispatches(path: IncidentPath):
    """Every offer and visit of the incident with timers and messages (a technician: theirs)."""
    incident = get_incident_for(g.api_user, path.incident_id)
    dispatches = sorted(incident.dispatches, key=lambda d: d.id)
    if g.api_user.role == "technician":
        dispatches = [d for d in dispatches if d.technician_id == g.api_user.technician_id]
    return {"items": _dispatches_out(dispatches, g.api_user)}


@bp.post("/incidents/<int:incident_id>/dispatches", tags=[TAG], responses={201: DispatchOut})
def override_dispatch(path: IncidentPath, body: OverrideRequest):
    """The dispatcher offers the incident to a technician of their choice (open offers end)."""
    _lock_incident(path.incident_id)
    dispatch = service.override(path.incident_id, body.technician_id, g.api_user,
                                reason=body.reason.strip())
    return _dispatch_out(dispatch, g.api_user), 201


@bp.post("/incidents/<int:incident_id>/reoffer", tags=[TAG], responses={201: DispatchOut})
def reoffer_dispatch(path: IncidentPath, body: ReofferRequest):
    """Offer to the next best candidate now; 409 `no_candidate` (dispatchers paged) if none."""
    _lock_incident(path.incident_id)
    dispatch = service.reoffer(path.incident_id, g.api_user)
    return _dispatch_out(dispatch, g.api_user), 201


@bp.get("/dispatches", tags=[TAG], responses={200: DispatchList})
def list_open_dispatches(query: DispatchListQuery):
    """Open offers and visits in progress, newest first; a technician's own only."""
    user = g.api_user
    require_role(user, LISTING_ROLES, "list dispatches")
    if query.mine and user.role != "technician":
        raise Forbidden("Only a technician has dispatches of their own.")
    stmt = select(Dispatch).where(Dispatch.state.in_(OPEN_STATES + HOLDING_STATES))
    if user.role == "technician":
        stmt = stmt.where(Dispatch.technician_id == user.technician_id)
    rows = db.session.scalars(stmt.order_by(Dispatch.id.desc()).limit(LIST_LIMIT)).all()
    return {"items": _dispatches_out(rows, user)}


@bp.get("/dispatches/<int:dispatch_id>", tags=[TAG], responses={200: DispatchOut})
def get_dispatch(path: DispatchPath):
    """One dispatch with its timers and messages."""
    return _dispatch_out(_visible_dispatch(g.api_user, path.dispatch_id), g.api_user)


def _taken(exc, dispatch_id):
    """An answer to an offer that lost the race says that the incident is taken.

    The service says so when the accepts overlap; when the winner committed first, the
    losing offer is already cancelled and the service only says the offer is closed.
    """
    db.session.rollback()
    dispatch = db.session.get(Dispatch, dispatch_id)
    holder = dispatch.incident.assigned_technician_id
    if dispatch.state == "cancelled" and holder not in (None, dispatch.technician_id):
        return service.OfferClosed("The incident has been taken by another technician.",
                                   exc.details | {"reason": "taken"})
    return None


def _answer(dispatch_id, body, user):
    try:
        if body.trigger == "accept":
            return service.accept(dispatch_id, user, via="api")
        return service.decline(dispatch_id, user, body.reason or "", via="api")
    except service.OfferClosed as exc:
        taken = _taken(exc, dispatch_id)
        if taken is None:
            raise
        raise taken from exc


def _fire(dispatch_id, body, user):
    if body.trigger in ("accept", "decline"):
        return _answer(dispatch_id, body, user)
    if body.trigger == "cancel":
        return service.cancel_dispatch(dispatch_id, user, body.reason or "")
    params = {"work_report": body.work_report, "signoff_name": body.signoff_name}
    return service.advance(dispatch_id, user, body.trigger,
                           params={k: v for k, v in params.items() if v is not None})


@bp.post("/dispatches/<int:dispatch_id>/transitions", tags=[TAG],
         responses={200: DispatchOut})
def transition_dispatch(path: DispatchPath, body: DispatchTransitionRequest):
    """Accept, decline, depart, arrive, complete or cancel; 409 `offer_closed` when the
    offer was taken or closed meanwhile."""
    require_role(g.api_user, ACTING_ROLES, "act on dispatches")
    _lock_incident_of(path.dispatch_id)
    dispatch = _fire(path.dispatch_id, body, g.api_user)
    return _dispatch_out(dispatch, g.api_user)
