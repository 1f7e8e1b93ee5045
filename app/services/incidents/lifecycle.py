"""Firing a workflow trigger on an incident, with optimistic locking and audit.

In order, in one transaction: the actor's right to act on this incident's objects
(app/access.py), the facts the trigger's guards read (providers bound by name), the
workflow's answer (workflows/), the timeline event, the SLA clocks, then the side effects
the trigger names, each looked up by name in the bindings. A fact or an effect with no
binding refuses the trigger before anything changes.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app import access
from app.domain.timeutil import utcnow
from app.errors import (
    ConcurrentUpdate,
    Forbidden,
    GuardConflict,
    IllegalTransition,
    InvalidInput,
)
from app.extensions import db
from app.services import bindings
from app.services.actors import label_for
from app.services.incidents import sla
from app.services.incidents.audit import append_event
from workflows import INCIDENT, GuardRefused, IllegalTrigger, TriggerForbidden, UnknownTrigger
from workflows.guards import TriggerContext


@dataclass
class Step:
    """One incident trigger being fired: what its side effects read."""

    incident: object
    trigger: str
    from_state: str
    params: dict
    actor: object
    now: datetime


def _next_state(incident, trigger, role, ctx):
    """The workflow's answer, as the API's errors."""
    try:
        return INCIDENT.fire(incident.state, trigger, role, ctx)
    except UnknownTrigger as exc:
        raise InvalidInput(str(exc), {"field": "trigger", "reason": "unknown_trigger"}) from exc
    except TriggerForbidden as exc:
        raise Forbidden(str(exc), {"trigger": trigger, "role": role}) from exc
    except IllegalTrigger as exc:
        raise IllegalTransition(str(exc), {"state": exc.state, "trigger": trigger,
                                           "allowed_triggers": exc.allowed}) from exc
    except GuardRefused as exc:
        raise refusal_as_error(exc, trigger) from exc


def refusal_as_error(refused, trigger):
    """A guard's refusal as the API's error: a missing parameter is the caller's input
    (422 naming the field); anything else a conflict with the case as it stands (409),
    a fact no provider looked up included."""
    details = {"state": refused.state, "trigger": trigger, "reason": refused.refusal.code}
    if refused.refusal.code.endswith("_required"):
        details["field"] = refused.refusal.code.removesuffix("_required")
        return InvalidInput(refused.refusal.message, details)
    return GuardConflict(refused.refusal.message, details)


def apply_trigger(incident, trigger, *, role, actor=None, actor_label=None, params=None,
                  note="", now):
    """Fire `trigger` on a loaded incident and record it; the caller commits."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    access.require_trigger_scope(actor, incident, trigger)
    from_state = incident.state
    ctx = TriggerContext(params=params, facts=bindings.facts_for(
        INCIDENT, trigger, incident, params, now))
    to_state = _next_state(incident, trigger, role, ctx)
    effects = bindings.handlers_for(INCIDENT, trigger, bindings.current().incident_effects)
    incident.state = to_state
    append_event(incident, kind="transition", actor=actor,
                 actor_label=actor_label or label_for(actor, "system"), now=now,
                 trigger=trigger, from_state=from_state, to_state=incident.state, note=note,
                 data=params)
    sla.on_transition(incident, from_state, incident.state, now)
    step = Step(incident, trigger, from_state, params, actor, now)
    for effect in effects:  # their timeline events follow the transition's
        effect(step)
    return incident


def fire_trigger(incident_id, trigger, actor, params=None, note="", expected_version=None,
                 now=None):
    """Move the incident by `trigger`; a concurrent change is a 409, never a lost update."""
    incident = access.get_incident_for(actor, incident_id)
    reference = incident.reference
    if expected_version is not None and expected_version != incident.version:
        raise ConcurrentUpdate(reference)
    try:
        apply_trigger(incident, trigger, role=actor.role, actor=actor, params=params, note=note,
                      now=now or utcnow())
        db.session.commit()
    except (StaleDataError, IntegrityError) as exc:  # also from an autoflush mid-way
        db.session.rollback()
        raise ConcurrentUpdate(reference) from exc
    except Exception:  # e.g. a claim side effect refusing: nothing of the trigger stays
        db.session.rollback()
        raise
    return incident
