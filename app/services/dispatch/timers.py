"""Escalation timers: each due EscalationStep row carried out in its own transaction.

A timer is a row with a due time (never a sleep), so timers survive restarts; the worker
runs `fire_due_timers` on every pass (a task bound in app/services/wiring.py). What a step
does is its action, by name: contact the technician again (sms, voice), give the offer up
and ask the next candidate (next_candidate), or page the dispatchers (page_dispatcher).
"""

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import Dispatch, EscalationStep, Incident
from app.services.dispatch.offers import (
    contact,
    offer_to_best_candidate,
    page_dispatchers,
    timeline,
)
from app.services.dispatch.visits import apply_dispatch_trigger

log = logging.getLogger(__name__)

STEP_RETRY = timedelta(seconds=30)  # a timer that raised is tried again after this


# ---------------------------------------------------------------- one step


def _page(step, dispatch, now):
    """Nobody accepted in time: page the dispatchers, once per request."""
    if dispatch.incident.state != "dispatch_requested":
        return "not needed"
    page_dispatchers(dispatch.incident, "no_acceptance", now, dedupe=f"step:{step.id}")
    return "paged"


def _contact_again(step, dispatch, now):
    """Send the offer again by the step's channel (sms or voice)."""
    contact(dispatch, step.action, step.step, now)
    timeline(dispatch.incident, f"{step.action}_sent", now, dispatch_id=dispatch.id,
             technician=dispatch.technician.name, step=step.step)
    return f"{step.action} queued"


def _next_candidate(step, dispatch, now):
    """The offer expires and the next best candidate is asked."""
    apply_dispatch_trigger(dispatch, "expire", None, params={}, now=now)
    timeline(dispatch.incident, "expired", now, dispatch_id=dispatch.id,
             technician=dispatch.technician.name)
    following = offer_to_best_candidate(dispatch.incident, actor_label="system", now=now)
    return f"offered to {following.technician.name}" if following else "no candidate left"


# The actions of an escalation policy (ESCALATION_POLICY, Contract.escalation_policy); all
# but the dispatchers' page act only while the offer is open.
ACTIONS = {"sms": _contact_again, "voice": _contact_again, "next_candidate": _next_candidate}


def run_escalation_step(step, now):
    """Carry out a due timer (the worker holds its row lock); the caller commits."""
    dispatch = step.dispatch
    step.status, step.done_at = "done", now
    if step.action == "page_dispatcher":
        step.outcome = _page(step, dispatch, now)
        return
    if dispatch.state != "offered":
        step.outcome = f"not needed: offer {dispatch.state}"
        return
    dispatch.escalation_step = step.step
    step.outcome = ACTIONS[step.action](step, dispatch, now)


# ---------------------------------------------------------------- the worker's task


def fire_due_timers(clock, stop):
    """Run each due escalation step in its own transaction; a failing one is skipped and
    tried again after STEP_RETRY. Returns how many fired."""
    fired, passed = 0, set()
    while not stop.is_set():
        now = clock()
        candidate = db.session.execute(
            select(EscalationStep.id, Dispatch.incident_id).join(Dispatch).where(
                EscalationStep.status == "pending", EscalationStep.due_at <= now,
                EscalationStep.id.not_in(passed))
            .order_by(EscalationStep.due_at, EscalationStep.id).limit(1)).first()
        if candidate is None:
            db.session.rollback()  # ends the look (and SQLite's write lock)
            break
        step = _lock_step(candidate.id, candidate.incident_id, now)
        if step is not None and _fire(step, candidate.id, now):
            fired += 1
        else:
            db.session.rollback()
            passed.add(candidate.id)  # busy, taken or failed: looked at again next pass
    return fired


def _lock_step(step_id, incident_id, now):
    """Lock the incident, then the step: the order every dispatch use case locks in.

    Locked elsewhere (an answer in progress, another worker) means None: no waiting.
    """
    if db.session.scalar(select(Incident.id).where(Incident.id == incident_id)
                         .with_for_update(skip_locked=True)) is None:
        return None
    return db.session.scalars(
        select(EscalationStep).where(EscalationStep.id == step_id,
                                     EscalationStep.status == "pending",
                                     EscalationStep.due_at <= now)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)).first()


def _fire(step, step_id, now):
    try:
        run_escalation_step(step, now)
        outcome = step.outcome
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()  # someone changed the offer meanwhile: look again next pass
        log.info("escalation step #%s met a concurrent change; retrying", step_id)
        return False
    except Exception:
        db.session.rollback()
        log.exception("escalation step #%s failed; retrying in %s", step_id, STEP_RETRY)
        _postpone(step_id, now)
        return False
    log.info("escalation step #%s fired: %s", step_id, outcome)
    return True


def _postpone(step_id, now):
    db.session.execute(update(EscalationStep).where(
        EscalationStep.id == step_id, EscalationStep.status == "pending").values(
        due_at=now + STEP_RETRY, outcome="retrying after an error"),
        execution_options={"synchronize_session": False})
    db.session.commit()
