"""Fire triggers of the incident machine on a state, with guards and roles.

One `transitions.Machine` per process (building one costs ~3x attaching a model);
a subject is attached only while firing and always removed again.
"""

import threading
from functools import cache

from transitions import Machine, MachineError

from workflows import incident
from workflows.guards import GUARDS, TriggerContext

ALL_ROLES_TRIGGER = "admin"  # the admin role may fire every trigger


class WorkflowError(Exception):
    """A trigger that cannot be fired; subclasses say why."""


class UnknownTrigger(WorkflowError):
    """The trigger is not part of the machine at all."""

    def __init__(self, trigger):
        super().__init__(f"Unknown trigger {trigger!r}.")
        self.trigger = trigger


class TriggerForbidden(WorkflowError):
    """The caller's role may not fire this trigger."""

    def __init__(self, trigger, role):
        super().__init__(f"The role {role!r} may not fire {trigger!r}.")
        self.trigger, self.role = trigger, role


class IllegalTrigger(WorkflowError):
    """The trigger exists but does not leave the current state."""

    def __init__(self, state, trigger, allowed):
        super().__init__(f"{trigger!r} is not allowed in state {state!r}.")
        self.state, self.trigger, self.allowed = state, trigger, allowed


class GuardRefused(WorkflowError):
    """A guard refused the transition, with its reason."""

    def __init__(self, state, trigger, refusal):
        super().__init__(refusal.message)
        self.state, self.trigger, self.refusal = state, trigger, refusal


class _Subject:
    """What the machine moves: only a state, so ORM rows never carry machine methods."""

    def __init__(self, state):
        self.state = state


def _as_condition(name):
    guard = GUARDS[name]

    def condition(event):
        refusal = guard(event.kwargs["ctx"])
        if refusal is not None:
            raise GuardRefused(event.state.name, event.event.name, refusal)
        return True

    condition.__name__ = name  # the diagram labels conditions by name
    return condition


def _machine_transitions():
    return [
        {
            "trigger": t["trigger"],
            "source": t["source"],
            "dest": t["dest"],
            "conditions": [_as_condition(name) for name in t.get("conditions", [])],
        }
        for t in incident.TRANSITIONS
    ]


@cache
def _machine():
    return Machine(
        model=None, states=incident.STATES, transitions=_machine_transitions(),
        initial=None, model_attribute="state", auto_transitions=False, send_event=True,
    )


_lock = threading.Lock()


@cache
def _roles_by_trigger():
    return {t["trigger"]: set(t["roles"]) | {ALL_ROLES_TRIGGER} for t in incident.TRANSITIONS}


def may_fire(role, trigger):
    """True when the role may fire the trigger (from some state)."""
    return role in _roles_by_trigger().get(trigger, ())


def triggers_from(state):
    """Every trigger that leaves `state`, in the order of the data file."""
    sources = {}
    for t in incident.TRANSITIONS:
        src = t["source"] if isinstance(t["source"], list) else [t["source"]]
        if state in src:
            sources[t["trigger"]] = True
    return list(sources)


def allowed_triggers(state, role=None):
    """Triggers leaving `state` that `role` may fire (all of them when role is None)."""
    return [t for t in triggers_from(state) if role is None or may_fire(role, t)]


def fire(state, trigger, role, ctx=None):
    """Return the state after firing `trigger` from `state` as `role`, or raise why not."""
    if trigger not in incident.TRIGGERS:
        raise UnknownTrigger(trigger)
    if not may_fire(role, trigger):
        raise TriggerForbidden(trigger, role)
    if trigger not in triggers_from(state):
        raise IllegalTrigger(state, trigger, allowed_triggers(state, role))
    subject = _Subject(state)
    machine = _machine()
    with _lock:
        machine.add_model(subject, initial=state)
        try:
            subject.trigger(trigger, ctx=ctx or TriggerContext())
        except MachineError as exc:  # pragma: no cover - checked above, kept as a backstop
            raise IllegalTrigger(state, trigger, allowed_triggers(state, role)) from exc
        finally:
            machine.remove_model(subject)
    return subject.state
