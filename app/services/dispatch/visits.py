"""On-site dispatch: answering offers, the visit, and the dispatcher's hand.

Every dispatch trigger (accept, decline, depart, arrive, complete, cancel) goes through
`fire`, the one entry point of the API, the technician's pages, the SMS link and the
voice call. It locks the incident row first, finds the dispatch the actor may act on
(app/access.py), fires the dispatch machine, then runs the side effects its transition
names (workflows/dispatch.py), each bound by name in app/services/wiring.py; the
technician's steps move the incident in the same commit (its system triggers). The first
accept wins the incident. Making offers and their timers is offers.py and timers.py; an
offer's expiry is fired by its timer (timers.py) through apply_dispatch_trigger, under the
timer's own lock.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app import access
from app.domain.timeutil import to_jst, utcnow
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import Dispatch, Incident, Technician, UsedLink
from app.services import bindings
from app.services.actors import label_for
from app.services.dispatch.offers import cancel_timers, offer, offer_to_best_candidate, timeline
from app.services.incidents.audit import append_event
from app.services.incidents.contact import note_not_texted
from app.services.incidents.lifecycle import apply_trigger, refusal_as_error
from notifications.outbox import enqueue, enqueue_sms
from workflows import DISPATCH, INCIDENT, GuardRefused, IllegalTrigger, TriggerForbidden
from workflows.dispatch import HOLDING_STATES
from workflows.guards import TriggerContext
from workflows.incident import AWAITING_TECHNICIAN

# The technician's steps on a visit they hold: depart, arrive, complete.
VISIT_STEPS = tuple(t for t in DISPATCH.triggers
                    if set(DISPATCH.sources_of(t)) <= set(HOLDING_STATES))
TAKEN = "The incident has been taken by another technician."
CHANGED = "The dispatch changed meanwhile; reload and try again."


class OfferClosed(Conflict):
    """The offer can no longer be answered (taken by someone else, expired, cancelled)."""

    code = "offer_closed"


@dataclass
class VisitStep:
    """One dispatch trigger being fired: what its side effects read."""

    dispatch: Dispatch
    trigger: str
    from_state: str
    params: dict
    actor: object
    now: datetime
    via: str = ""  # how the technician answered: page, api, SMS link, voice


# ---------------------------------------------------------------- firing a dispatch trigger


def fire(dispatch_id, trigger, actor, *, params=None, via="page", link_nonce=None, now=None):
    """Fire `trigger` on a dispatch as `actor`, with its side effects, in one commit.

    `link_nonce` spends a one-tap link in the same commit; a concurrent change to the
    incident is a 409 (`offer_closed`), never a lost update.
    """
    now = now or utcnow()
    _require_role(actor, trigger)
    params = {name: value.strip() if isinstance(value, str) else value
              for name, value in (params or {}).items() if value is not None}
    takes_incident = DISPATCH.incident_trigger_of(trigger) == "assign_technician"
    with _conflicts_as(TAKEN if takes_incident else CHANGED):
        _lock_incident_of(dispatch_id)
        dispatch = access.get_dispatch_for(actor, dispatch_id)
        _use_link(link_nonce)
        apply_dispatch_trigger(dispatch, trigger, actor, params=params, now=now, via=via)
    return dispatch


def apply_dispatch_trigger(dispatch, trigger, actor, *, params, now, via=""):
    """Fire a dispatch trigger and run its side effects; the caller locks and commits."""
    effects = bindings.handlers_for(DISPATCH, trigger, bindings.current().dispatch_effects)
    step = VisitStep(dispatch, trigger, dispatch.state, params, actor, now, via)
    facts = bindings.facts_for(DISPATCH, trigger, dispatch.incident, params, now)
    dispatch.state = _fire(dispatch, trigger, actor.role if actor else "system",
                           TriggerContext(params=params, facts=facts))
    for effect in effects:
        effect(step)
    return dispatch


def accept(dispatch_id, actor, *, now=None, via="page", link_nonce=None):
    """The technician takes the incident: the first accept wins, every other one is a 409."""
    return fire(dispatch_id, "accept", actor, now=now, via=via, link_nonce=link_nonce)


def decline(dispatch_id, actor, reason, *, now=None, via="page", link_nonce=None):
    """The technician declines; the next candidate gets the offer."""
    return fire(dispatch_id, "decline", actor, params={"reason": reason}, now=now, via=via,
                link_nonce=link_nonce)


def advance(dispatch_id, actor, trigger, *, params=None, now=None):
    """Depart, arrive or complete: the dispatch and the incident move together."""
    if trigger not in VISIT_STEPS:
        raise InvalidInput("Use depart, arrive or complete.", {"field": "trigger"})
    return fire(dispatch_id, trigger, actor, params=params, now=now)


def cancel_dispatch(dispatch_id, actor, reason, *, now=None):
    """Withdraw an offer or a visit; a visit's incident goes back to dispatch_requested."""
    access.require(actor, "dispatch.direct")
    return fire(dispatch_id, "cancel", actor, params={"reason": reason}, now=now)


def _require_role(actor, trigger):
    """A role that may never fire the trigger is refused (403) before any dispatch is looked
    up, so that a technician's cancel is a 403 whether or not the dispatch is theirs."""
    role = actor.role if actor else "system"
    if not DISPATCH.may_fire(role, trigger):
        raise Forbidden(str(TriggerForbidden(trigger, role)))


def _fire(dispatch, trigger, role, ctx):
    """The dispatch machine's answer, as the API's errors."""
    try:
        return DISPATCH.fire(dispatch.state, trigger, role, ctx)
    except TriggerForbidden as exc:
        raise Forbidden(str(exc)) from exc
    except IllegalTrigger as exc:
        raise OfferClosed(_closed_message(dispatch, trigger),
                          {"state": dispatch.state, "trigger": trigger,
                           "allowed_triggers": exc.allowed,
                           "reason": "taken" if _taken_by_another(dispatch) else "closed"}
                          ) from exc
    except GuardRefused as exc:
        raise refusal_as_error(exc, trigger) from exc


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


# ---------------------------------------------------------------- the side effects
# Named in workflows/dispatch.py, bound in app/services/wiring.py; each gets the VisitStep.


def record_answer(step):
    """accept, decline, expire: when the offer was answered."""
    step.dispatch.responded_at = step.now


def take_incident(step):
    """accept: the incident is the technician's; the other offers and every timer end."""
    dispatch, incident = step.dispatch, step.dispatch.incident
    if incident.state != "dispatch_requested":
        raise OfferClosed(TAKEN, {"reason": "taken"})
    for other in incident.dispatches:
        if other.id != dispatch.id and other.state == "offered":
            other.state, other.cancel_reason = "cancelled", "taken by another technician"
    cancel_timers(incident.dispatches)
    apply_trigger(incident, DISPATCH.incident_trigger_of(step.trigger), role="system",
                  actor=step.actor, params={"technician_id": dispatch.technician_id,
                                            "via": step.via},
                  now=step.now)


def record_decline(step):
    """decline: the reason, on the dispatch and the timeline; its timers stop."""
    dispatch = step.dispatch
    dispatch.decline_reason = step.params["reason"]
    cancel_timers([dispatch], keep_page=True)
    timeline(dispatch.incident, "declined", step.now, actor=step.actor,
             note=step.params["reason"], dispatch_id=dispatch.id,
             technician=dispatch.technician.name, via=step.via)


def offer_next_candidate(step):
    """decline: the next best candidate is asked (the dispatchers paged if none is left)."""
    offer_to_best_candidate(step.dispatch.incident, actor_label="system", now=step.now)


def stop_offer_timers(step):
    """expire, cancel: the offer's timers stop (the dispatcher's page stays)."""
    cancel_timers([step.dispatch], keep_page=True)


def stamp_departure(step):
    """depart: when the technician set off."""
    step.dispatch.departed_at = step.now


def stamp_arrival(step):
    """arrive: when the technician arrived."""
    step.dispatch.arrived_at = step.now


def stamp_completion(step):
    """complete: when the visit was completed."""
    step.dispatch.completed_at = step.now


def record_work_report(step):
    """complete: the work report and who signed it off."""
    step.dispatch.work_report = step.params["work_report"]
    step.dispatch.signoff_name = step.params["signoff_name"]


def move_incident(step):
    """depart, arrive, complete: the incident takes the same step (its system trigger),
    with the parameters that trigger takes."""
    trigger = DISPATCH.incident_trigger_of(step.trigger)
    params = {name: step.params[name] for name in INCIDENT.params_of(trigger)
              if name in step.params}
    apply_trigger(step.dispatch.incident, trigger, role="system", actor=step.actor,
                  params=params, now=step.now)


def tell_customer_en_route(step):
    """depart: the customer is told the technician is on the way."""
    _tell_customer(step.dispatch, "customer_en_route", step.now)


def tell_customer_arrived(step):
    """arrive: the customer is told the technician is there."""
    _tell_customer(step.dispatch, "customer_arrived", step.now)


def _tell_customer(dispatch, template, now):
    incident = dispatch.incident
    context = {"reference": incident.reference, "organization": incident.organization.name,
               "technician": dispatch.technician.name,
               "company": dispatch.technician.company,
               "time": to_jst(now).strftime("%H:%M")}
    if incident.reporter_phone:
        skipped = enqueue_sms(incident.reporter_phone, template, context, incident=incident,
                              dispatch=dispatch, dedupe_key=f"{template}:{dispatch.id}:sms",
                              now=now, whose="reporter", speak=True,
                              instead="email" if incident.reporter_email else "")
        note_not_texted(incident, [skipped], now)
    if incident.reporter_email:
        enqueue("email", incident.reporter_email, template, context, incident=incident,
                dispatch=dispatch, dedupe_key=f"{template}:{dispatch.id}:email", now=now)


def record_withdrawal(step):
    """cancel: why the dispatcher withdrew the offer or visit."""
    step.dispatch.cancel_reason = step.params["reason"]


def release_or_note_withdrawal(step):
    """cancel: a withdrawn visit sends the incident back to dispatch_requested; a
    withdrawn offer is only noted on the timeline."""
    dispatch = step.dispatch
    if step.from_state in HOLDING_STATES:
        apply_trigger(dispatch.incident, "release_technician", role="system", actor=step.actor,
                      params={"reason": step.params["reason"]}, now=step.now)
    else:
        timeline(dispatch.incident, "offer_cancelled", step.now, actor=step.actor,
                 note=step.params["reason"], dispatch_id=dispatch.id,
                 technician=dispatch.technician.name)


# ---------------------------------------------------------------- the incident's hold


def hold_for_technician(step):
    """assign_technician: the technician who accepted holds the incident."""
    step.incident.assigned_technician_id = step.params["technician_id"]


def release_from_technician(step):
    """release_technician: nobody holds the incident any more."""
    step.incident.assigned_technician_id = None


def technician_active(incident, params, now):
    """The fact `technician_active` of assign_technician's guard."""
    technician_id = params.get("technician_id")
    technician = db.session.get(Technician, technician_id) \
        if isinstance(technician_id, int) else None
    return technician is not None and technician.active


# ---------------------------------------------------------------- the dispatcher's hand


def _incident_for_dispatcher(incident_id, actor):
    access.require(actor, "dispatch.direct")
    _lock_incident(incident_id)
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("Incident not found.")
    if incident.state not in AWAITING_TECHNICIAN:
        raise Conflict("The incident is not waiting for a technician.",
                       {"state": incident.state})
    return incident


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
