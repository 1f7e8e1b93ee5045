"""On-site dispatch: answering offers, the visit, and the dispatcher's hand.

The first accept wins the incident; the technician's later steps (depart, arrive,
complete) move their dispatch and, in the same commit, the incident (its system
triggers). Each use case locks the incident row first and commits once. Making
offers and their escalation timers is app/services/dispatch/offers.py.
"""

from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.domain.timeutil import to_jst, utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Dispatch, Incident, Technician, UsedLink
from app.services.actors import label_for
from app.services.claims.notices import early_notice
from app.services.dispatch.offers import cancel_timers, offer, offer_to_best_candidate, timeline
from app.services.incidents.audit import append_event
from app.services.incidents.lifecycle import apply_trigger
from notifications.outbox import enqueue
from workflows import DISPATCH, GuardRefused, IllegalTrigger, TriggerForbidden
from workflows.dispatch import HOLDING_STATES, INCIDENT_TRIGGER
from workflows.guards import TriggerContext

DISPATCH_ROLES = ("dispatcher", "admin")


TAKEN = "The incident has been taken by another technician."
CHANGED = "The dispatch changed meanwhile; reload and try again."


class OfferClosed(Conflict):
    """The offer can no longer be answered (taken by someone else, expired, cancelled)."""

    code = "offer_closed"


# ---------------------------------------------------------------- answering an offer


def get_dispatch_for(user, dispatch_id):
    """A dispatch the user may act on: their own (technician), or any (dispatcher, admin)."""
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None or (user.role == "technician"
                            and dispatch.technician_id != user.technician_id) \
            or user.role not in ("technician", *DISPATCH_ROLES):
        raise NotFound("Dispatch not found.")
    return dispatch


def _fire(dispatch, trigger, role, params):
    try:
        return DISPATCH.fire(dispatch.state, trigger, role, TriggerContext(params=params))
    except TriggerForbidden as exc:
        raise Forbidden(str(exc)) from exc
    except IllegalTrigger as exc:
        raise OfferClosed(_closed_message(dispatch, trigger),
                          {"state": dispatch.state, "trigger": trigger,
                           "allowed_triggers": exc.allowed,
                           "reason": "taken" if _taken_by_another(dispatch) else "closed"}
                          ) from exc
    except GuardRefused as exc:
        raise InvalidInput(exc.refusal.message, {
            "field": exc.refusal.code.removesuffix("_required"),
            "reason": exc.refusal.code}) from exc


def _closed_message(dispatch, trigger):
    if dispatch.state == "offered":
        return f"'{trigger}' is not possible before the offer is accepted."
    if trigger in ("accept", "decline"):
        if _taken_by_another(dispatch):
            return TAKEN
        return f"This offer is no longer open (it is {dispatch.state})."
    return f"'{trigger}' is not possible while the dispatch is {dispatch.state}."


def _taken_by_another(dispatch):
    holder = dispatch.incident.assigned_technician_id
    return holder is not None and holder != dispatch.technician_id


def _lock_incident(incident_id):
    """Serialise every change to one incident's dispatches (the row lock lasts to commit).

    Taken first in each use case, before anything is loaded: a second accept then waits
    for the first to commit and reads its result, instead of failing on a stale row or a
    deadlock on the holder index. SQLite writers queue anyway (BEGIN IMMEDIATE).
    """
    db.session.execute(select(Incident.id).where(Incident.id == incident_id).with_for_update())
    db.session.expire_all()  # whatever was loaded before the lock is reread after it


def _lock_incident_of(dispatch_id):
    incident_id = db.session.scalar(select(Dispatch.incident_id).where(
        Dispatch.id == dispatch_id))
    if incident_id is not None:
        _lock_incident(incident_id)


@contextmanager
def _conflicts_as(message):
    """Commit at the end; a concurrent writer's change (anywhere, autoflush too) is a 409."""
    try:
        yield
        db.session.commit()
    except (StaleDataError, IntegrityError) as exc:
        db.session.rollback()
        raise OfferClosed(message, {"reason": "concurrent_update"}) from exc
    except Exception:
        db.session.rollback()
        raise


def _use_link(nonce):
    if nonce is None:
        return
    if db.session.get(UsedLink, nonce) is not None:
        raise OfferClosed("This link has been used already.", {"reason": "link_used"})
    db.session.add(UsedLink(nonce=nonce))


def accept(dispatch_id, actor, *, now=None, via="page", link_nonce=None):
    """The technician takes the incident: the first accept wins, every other one is a 409."""
    now = now or utcnow()
    with _conflicts_as(TAKEN):
        _lock_incident_of(dispatch_id)
        dispatch = get_dispatch_for(actor, dispatch_id)
        _use_link(link_nonce)
        dispatch.state = _fire(dispatch, "accept", actor.role, {})
        incident = dispatch.incident
        if incident.state != "dispatch_requested":
            raise OfferClosed(TAKEN, {"reason": "taken"})
        dispatch.responded_at = now
        others = [d for d in incident.dispatches if d.id != dispatch.id and d.state == "offered"]
        for other in others:
            other.state, other.cancel_reason = "cancelled", "taken by another technician"
        cancel_timers(incident.dispatches)
        apply_trigger(incident, "assign_technician", role="system", actor=actor,
                      params={"technician_id": dispatch.technician_id},
                      note=f"accepted via {via}", now=now)
        early_notice(incident, now)  # 事故報告 to the insurer, in the accept's commit
    return dispatch


def decline(dispatch_id, actor, reason, *, now=None, via="page", link_nonce=None):
    """The technician declines; the next candidate gets the offer."""
    now = now or utcnow()
    with _conflicts_as(CHANGED):
        _lock_incident_of(dispatch_id)
        dispatch = get_dispatch_for(actor, dispatch_id)
        _use_link(link_nonce)
        dispatch.state = _fire(dispatch, "decline", actor.role, {"reason": reason})
        dispatch.responded_at, dispatch.decline_reason = now, reason.strip()
        cancel_timers([dispatch], keep_page=True)
        incident = dispatch.incident
        timeline(incident, "declined", now, actor=actor, note=reason, dispatch_id=dispatch.id,
                  technician=dispatch.technician.name, via=via)
        offer_to_best_candidate(incident, actor_label="system", now=now)
    return dispatch


# ---------------------------------------------------------------- the visit

VISIT_TIMES = {"depart": "departed_at", "arrive": "arrived_at", "complete": "completed_at"}
CUSTOMER_MESSAGES = {"depart": "customer_en_route", "arrive": "customer_arrived"}


def advance(dispatch_id, actor, trigger, *, params=None, now=None):
    """Depart, arrive or complete: the dispatch and the incident move together."""
    if trigger not in VISIT_TIMES:
        raise InvalidInput("Use depart, arrive or complete.", {"field": "trigger"})
    now = now or utcnow()
    params = {k: (v.strip() if isinstance(v, str) else v) for k, v in (params or {}).items()}
    with _conflicts_as(CHANGED):
        _lock_incident_of(dispatch_id)
        dispatch = get_dispatch_for(actor, dispatch_id)
        dispatch.state = _fire(dispatch, trigger, actor.role, params)
        setattr(dispatch, VISIT_TIMES[trigger], now)
        if trigger == "complete":
            dispatch.work_report, dispatch.signoff_name = params["work_report"], \
                params["signoff_name"]
        incident_params = {"work_report": params["work_report"]} if trigger == "complete" \
            else {}
        apply_trigger(dispatch.incident, INCIDENT_TRIGGER[trigger], role="system", actor=actor,
                      params=incident_params, now=now)
        if trigger in CUSTOMER_MESSAGES:
            _tell_customer(dispatch, CUSTOMER_MESSAGES[trigger], now)
    return dispatch


def _tell_customer(dispatch, template, now):
    incident = dispatch.incident
    context = {"reference": incident.reference, "organization": incident.organization.name,
               "technician": dispatch.technician.name,
               "company": dispatch.technician.company,
               "time": to_jst(now).strftime("%H:%M")}
    if incident.reporter_phone:
        enqueue("sms", incident.reporter_phone, template, context, incident=incident,
                dispatch=dispatch, dedupe_key=f"{template}:{dispatch.id}:sms", now=now)
    if incident.reporter_email:
        enqueue("email", incident.reporter_email, template, context, incident=incident,
                dispatch=dispatch, dedupe_key=f"{template}:{dispatch.id}:email", now=now)


# ---------------------------------------------------------------- the dispatcher's hand


def _require_dispatcher(actor):
    if actor.role not in DISPATCH_ROLES:
        raise Forbidden("Only a dispatcher may do this.")


def _incident_for_dispatcher(incident_id, actor):
    _require_dispatcher(actor)
    _lock_incident(incident_id)
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("Incident not found.")
    if incident.state not in ("dispatch_requested", "technician_assigned"):
        raise Conflict("The incident is not waiting for a technician.",
                       {"state": incident.state})
    return incident


def cancel_dispatch(dispatch_id, actor, reason, *, now=None):
    """Withdraw an offer or a visit; a visit's incident goes back to dispatch_requested."""
    now = now or utcnow()
    _require_dispatcher(actor)
    with _conflicts_as(CHANGED):
        _lock_incident_of(dispatch_id)
        dispatch = get_dispatch_for(actor, dispatch_id)
        was_holding = dispatch.state in HOLDING_STATES
        dispatch.state = _fire(dispatch, "cancel", actor.role, {"reason": reason})
        dispatch.cancel_reason = reason.strip()
        cancel_timers([dispatch], keep_page=True)
        if was_holding:
            apply_trigger(dispatch.incident, "release_technician", role="system", actor=actor,
                          params={"reason": reason}, now=now)
        else:
            timeline(dispatch.incident, "offer_cancelled", now, actor=actor, note=reason,
                      dispatch_id=dispatch.id, technician=dispatch.technician.name)
    return dispatch


def override(incident_id, technician_id, actor, *, reason="", now=None):
    """The dispatcher chooses the technician: open offers are withdrawn, the chosen one asked."""
    now = now or utcnow()
    with _conflicts_as(CHANGED):
        incident = _incident_for_dispatcher(incident_id, actor)
        if incident.state != "dispatch_requested":
            raise Conflict("Release the assigned technician first.", {"state": incident.state})
        technician = db.session.get(Technician, technician_id) if isinstance(
            technician_id, int) else None
        if technician is None or not technician.active:
            raise InvalidInput("The technician is unknown or inactive.",
                               {"field": "technician_id"})
        for dispatch in incident.dispatches:
            if dispatch.state == "offered":
                dispatch.state, dispatch.cancel_reason = "cancelled", "dispatcher override"
                cancel_timers([dispatch], keep_page=True)
        result = offer(incident, technician, actor=actor, actor_label=label_for(actor, ""),
                       now=now)
        if reason:
            append_event(incident, kind="note", actor=actor, actor_label=label_for(actor, ""),
                         now=now, note=reason)
    return result


def reoffer(incident_id, actor, *, now=None):
    """Offer to the next best candidate now; None when nobody is left (dispatchers paged)."""
    now = now or utcnow()
    with _conflicts_as(CHANGED):
        incident = _incident_for_dispatcher(incident_id, actor)
        if incident.state != "dispatch_requested":
            raise Conflict("A technician holds the incident.", {"state": incident.state})
        result = offer_to_best_candidate(incident, actor_label=label_for(actor, ""), now=now)
    return result
