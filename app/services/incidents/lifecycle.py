"""Firing a workflow trigger on an incident, with optimistic locking and audit."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.domain.timeutil import to_jst, utcnow
from app.errors import (
    ConcurrentUpdate,
    Forbidden,
    GuardConflict,
    IllegalTransition,
    InvalidInput,
)
from app.extensions import db
from app.models import Contract, Technician
from app.services.actors import label_for
from app.services.incidents import sla
from app.services.incidents.audit import append_event
from app.services.incidents.queries import get_incident_for
from workflows import INCIDENT, GuardRefused, IllegalTrigger, TriggerForbidden, UnknownTrigger
from workflows.guards import Refusal, TriggerContext


def _onsite_contract(incident, today):
    contracts = db.session.scalars(
        select(Contract).where(Contract.organization_id == incident.organization_id)).all()
    if any(c.active_on(today) and c.onsite_support for c in contracts):
        return None
    return Refusal("no_onsite_contract",
                   "The organization has no active contract that covers on-site support.")


def _technician(params):
    technician_id = params.get("technician_id")
    if technician_id is None:
        return None  # the guard asks for it
    technician = db.session.get(Technician, technician_id) if isinstance(
        technician_id, int) else None
    if technician is None or not technician.active:
        return Refusal("technician_unavailable", "The technician is unknown or inactive.")
    return None


def _policy(incident):
    from app.services.claims.coverage import covering_policy

    if covering_policy(incident) is not None:
        return None
    return Refusal("no_policy", "No insurance policy of the organization covers the incident.")


def _context(incident, trigger, params, now):
    """Facts the trigger's guards read; only those it needs are looked up."""
    from app.services.claims import claims  # claims build on this module
    ctx = TriggerContext(params=params, assigned_technician_id=incident.assigned_technician_id)
    if trigger == "request_dispatch":
        ctx.onsite_contract = _onsite_contract(incident, to_jst(now).date())
    elif trigger == "assign_technician":
        ctx.technician = _technician(params)
    elif trigger == "prepare_claim":
        ctx.policy = _policy(incident)
    elif trigger == "submit_claim":
        ctx.claim = claims.submit_refusal(incident)
    elif trigger == "close":
        ctx.open_claim = claims.open_claim_refusal(incident)
    return ctx


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
        details = {"state": exc.state, "trigger": trigger, "reason": exc.refusal.code}
        if exc.refusal.code.endswith("_required"):
            details["field"] = exc.refusal.code.removesuffix("_required")
            raise InvalidInput(exc.refusal.message, details) from exc
        raise GuardConflict(exc.refusal.message, details) from exc


def _apply_side_effects(incident, trigger, params, actor, now):
    """What else a trigger changes; dispatch follows the incident in the same commit."""
    from app.services.claims import claims
    from app.services.dispatch import offers  # both build on this module

    if trigger == "assign_technician":
        incident.assigned_technician_id = params["technician_id"]
    elif trigger == "release_technician":
        incident.assigned_technician_id = None
    elif trigger == "request_dispatch":
        offers.offer_to_best_candidate(incident, actor_label=label_for(actor, "system"),
                                         now=now, first_of_request=True)
    elif trigger == "cancel":
        offers.cancel_all(incident, reason=params["reason"], now=now)
    else:
        claims.on_trigger(incident, trigger, params, actor, now)  # claim_* triggers


def apply_trigger(incident, trigger, *, role, actor=None, actor_label=None, params=None,
                  note="", now):
    """Fire `trigger` on a loaded incident and record it; the caller commits."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    from_state = incident.state
    incident.state = _next_state(incident, trigger, role, _context(
        incident, trigger, params, now))
    append_event(incident, kind="transition", actor=actor,
                 actor_label=actor_label or label_for(actor, "system"), now=now,
                 trigger=trigger, from_state=from_state, to_state=incident.state, note=note,
                 data=params)
    sla.on_transition(incident, from_state, incident.state, now)
    _apply_side_effects(incident, trigger, params, actor, now)  # their events follow
    return incident


def fire_trigger(incident_id, trigger, actor, params=None, note="", expected_version=None,
                 now=None):
    """Move the incident by `trigger`; a concurrent change is a 409, never a lost update."""
    incident = get_incident_for(actor, incident_id)
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


def commit_or_conflict(incident):
    """Commit; a clash with a concurrent writer (version or timeline seq) becomes a 409."""
    reference = incident.reference
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError) as exc:
        db.session.rollback()
        raise ConcurrentUpdate(reference) from exc
