"""On-site dispatch: choosing technicians, offers, acceptance, the visit, escalation.

An incident in `dispatch_requested` has offers (Dispatch rows in `offered`), each
with escalation timers (EscalationStep rows). The first accept wins the incident;
the technician's later steps (depart, arrive, complete) move their dispatch and,
in the same commit, the incident (its system triggers).
"""

from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.labels import prefecture_name
from app.models import Dispatch, EscalationStep, Incident, OnCallShift, Technician, UsedLink, User
from app.services.actors import label_for
from app.services.audit import append_event
from app.services.links import offer_link
from app.services.transitions import apply_trigger
from app.timeutil import to_jst, utcnow
from notifications.outbox import enqueue
from workflows import DISPATCH, GuardRefused, IllegalTrigger, TriggerForbidden
from workflows.dispatch import HOLDING_STATES, INCIDENT_TRIGGER
from workflows.guards import TriggerContext

DISPATCH_ROLES = ("dispatcher", "admin")
ASKED_STATES = ("offered", "declined", "expired")


TAKEN = "The incident has been taken by another technician."
CHANGED = "The dispatch changed meanwhile; reload and try again."


class OfferClosed(Conflict):
    """The offer can no longer be answered (taken by someone else, expired, cancelled)."""

    code = "offer_closed"


# ---------------------------------------------------------------- choosing technicians


def load_by_technician():
    rows = db.session.execute(
        select(Dispatch.technician_id, func.count(Dispatch.id))
        .where(Dispatch.state.in_(HOLDING_STATES)).group_by(Dispatch.technician_id))
    return dict(rows.all())


def candidates(incident, now):
    """Technicians to offer the incident to, best first.

    On call now, serving the incident's prefecture, with the category as a skill,
    least loaded first; technicians already asked during this request are left out.
    """
    asked = select(Dispatch.technician_id).where(
        Dispatch.incident_id == incident.id, Dispatch.state.in_(ASKED_STATES + HOLDING_STATES))
    on_call = select(OnCallShift.technician_id).where(
        OnCallShift.starts_at <= now, OnCallShift.ends_at > now)
    technicians = db.session.scalars(
        select(Technician).where(Technician.active, Technician.id.in_(on_call),
                                 Technician.id.not_in(asked)).order_by(Technician.id)).all()
    prefecture = incident.organization.prefecture
    load = load_by_technician()
    fitting = [t for t in technicians
               if prefecture in (t.prefectures or []) and incident.category in (t.skills or [])]
    return sorted(fitting, key=lambda t: (load.get(t.id, 0), t.id))


# ---------------------------------------------------------------- offers and escalation


def _policy(incident):
    contracts = [c for c in incident.organization.contracts if c.escalation_policy]
    return contracts[-1].escalation_policy if contracts else \
        current_app.config["ESCALATION_POLICY"]


def _timeline(incident, action, now, actor=None, actor_label=None, note="", **data):
    append_event(incident, kind="dispatch", actor=actor,
                 actor_label=actor_label or label_for(actor, "system"), now=now, note=note,
                 data={"action": action, **data})


def offer(incident, technician, *, actor_label, now, first_of_request=False, actor=None):
    """Offer the incident to one technician and start the escalation policy's timers."""
    dispatch = Dispatch(incident=incident, technician=technician, state="offered",
                        offered_at=now, offered_by=actor_label)
    db.session.add(dispatch)
    db.session.flush()
    for step, (minutes, action) in enumerate(_policy(incident), start=1):
        if action == "page_dispatcher" and not first_of_request:
            continue  # the dispatcher is paged once per request, counted from its start
        if minutes == 0 and action in ("sms", "voice"):
            _contact(dispatch, action, step, now)
            dispatch.escalation_step = step
            continue
        db.session.add(EscalationStep(dispatch=dispatch, step=step, action=action,
                                      due_at=now + timedelta(minutes=minutes)))
    _timeline(incident, "offered", now, actor=actor, actor_label=actor_label,
              dispatch_id=dispatch.id, technician_id=technician.id, technician=technician.name)
    return dispatch


def offer_to_best_candidate(incident, *, actor_label, now, first_of_request=False):
    """Offer to the best candidate; with none left, page the dispatcher at once."""
    best = candidates(incident, now)
    if not best:
        page_dispatchers(incident, "no_candidate", now)
        return None
    return offer(incident, best[0], actor_label=actor_label, now=now,
                 first_of_request=first_of_request)


def offer_context(dispatch):
    incident = dispatch.incident
    org = incident.organization
    return {
        "reference": incident.reference, "organization": org.name, "address": org.address,
        "prefecture": prefecture_name(org.prefecture), "summary": incident.summary,
        "category": incident.category, "severity": incident.severity,
        "technician": dispatch.technician.name, "dispatch_id": dispatch.id,
    }


def _contact(dispatch, channel, step, now):
    """Send the offer by SMS (with the one-tap link) or by a voice call."""
    technician = dispatch.technician
    context = offer_context(dispatch)
    if channel == "sms":
        context["link"] = offer_link(dispatch)
    else:
        context["twiml_path"] = f"/webhooks/twilio/voice/offer/{dispatch.id}"
    enqueue(channel, technician.phone, "offer", context, locale=technician.locale,
            dedupe_key=f"offer:{dispatch.id}:{step}:{channel}", incident=dispatch.incident,
            dispatch=dispatch, now=now)


def page_dispatchers(incident, reason, now, dedupe=None, details=None):
    """Page every active dispatcher (SMS where they have a phone, and e-mail).

    `details` (e.g. which message failed and why) goes onto the timeline event.
    """
    dispatchers = db.session.scalars(
        select(User).where(User.role == "dispatcher", User.active)).all()
    context = {"reference": incident.reference, "organization": incident.organization.name,
               "summary": incident.summary, "reason": reason,
               "url": current_app.config["PUBLIC_BASE_URL"].rstrip("/")
               + f"/desk/incidents/{incident.id}"}
    key = dedupe or f"{incident.id}:{reason}:{incident.event_count}"
    for person in dispatchers:
        if person.phone:
            enqueue("sms", person.phone, "dispatcher_page", context, incident=incident,
                    dedupe_key=f"page:{key}:{person.id}:sms", now=now)
        enqueue("email", person.email, "dispatcher_page", context, incident=incident,
                dedupe_key=f"page:{key}:{person.id}:email", now=now)
    if not dispatchers:
        current_app.logger.error("Nobody to page about %s (%s): no active dispatcher",
                                 incident.reference, reason)
    _timeline(incident, "dispatcher_paged", now, reason=reason,
              dispatchers=[p.email for p in dispatchers], **(details or {}))


def _cancel_timers(dispatches, keep_page=False):
    ids = [d.id for d in dispatches]
    if not ids:
        return
    stmt = update(EscalationStep).where(EscalationStep.dispatch_id.in_(ids),
                                        EscalationStep.status == "pending")
    if keep_page:
        stmt = stmt.where(EscalationStep.action != "page_dispatcher")
    db.session.execute(stmt.values(status="cancelled"), execution_options={
        "synchronize_session": False})


def run_escalation_step(step, now):
    """Carry out a due timer (the worker holds its row lock); the caller commits."""
    dispatch = step.dispatch
    incident = dispatch.incident
    step.status, step.done_at = "done", now
    if step.action == "page_dispatcher":
        if incident.state == "dispatch_requested":
            page_dispatchers(incident, "no_acceptance", now, dedupe=f"step:{step.id}")
            step.outcome = "paged"
        else:
            step.outcome = "not needed"
        return
    if dispatch.state != "offered":
        step.outcome = f"not needed: offer {dispatch.state}"
        return
    dispatch.escalation_step = step.step
    if step.action in ("sms", "voice"):
        _contact(dispatch, step.action, step.step, now)
        step.outcome = f"{step.action} queued"
        _timeline(incident, f"{step.action}_sent", now, dispatch_id=dispatch.id,
                  technician=dispatch.technician.name, step=step.step)
    elif step.action == "next_candidate":
        _close_offer(dispatch, "expire", now)
        _timeline(incident, "expired", now, dispatch_id=dispatch.id,
                  technician=dispatch.technician.name)
        following = offer_to_best_candidate(incident, actor_label="system", now=now)
        step.outcome = f"offered to {following.technician.name}" if following else \
            "no candidate left"


def _close_offer(dispatch, trigger, now, reason=""):
    dispatch.state = DISPATCH.fire(dispatch.state, trigger, "system",
                                   TriggerContext(params={"reason": reason or trigger}))
    dispatch.responded_at = now
    _cancel_timers([dispatch], keep_page=True)


def cancel_all(incident, reason, now):
    """The incident was cancelled: close its open offers and visit, stop every timer."""
    for dispatch in incident.dispatches:
        if dispatch.state in ("offered", *HOLDING_STATES):
            dispatch.state, dispatch.cancel_reason = "cancelled", reason
    _cancel_timers(incident.dispatches)


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
        _cancel_timers(incident.dispatches)
        apply_trigger(incident, "assign_technician", role="system", actor=actor,
                      params={"technician_id": dispatch.technician_id},
                      note=f"accepted via {via}", now=now)
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
        _cancel_timers([dispatch], keep_page=True)
        incident = dispatch.incident
        _timeline(incident, "declined", now, actor=actor, note=reason, dispatch_id=dispatch.id,
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
        _cancel_timers([dispatch], keep_page=True)
        if was_holding:
            apply_trigger(dispatch.incident, "release_technician", role="system", actor=actor,
                          params={"reason": reason}, now=now)
        else:
            _timeline(dispatch.incident, "offer_cancelled", now, actor=actor, note=reason,
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
                _cancel_timers([dispatch], keep_page=True)
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
