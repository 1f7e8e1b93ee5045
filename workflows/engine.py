"""Fire triggers of a state machine (incident, dispatch) on a state, with guards and roles.

One `transitions.Machine` per workflow per process (building one costs ~3x attaching
a model); a subject is attached only while firing and always removed again.
"""

import threading
from functools import cached_property

from transitions import Machine, MachineError

from workflows import dispatch, incident
from workflows.guards import GUARDS, TriggerContext

# "system" is the application itself (an accepted offer assigning the technician, a timer
# expiring an offer), never a person's role. A trigger with no roles is the system's alone;
# admin may fire every other trigger.
SYSTEM = "system"


def _roles(roles):
    return set(roles) | {SYSTEM} | ({"admin"} if roles else set())


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


class Workflow:
    """One state machine described by a data module (STATES, TRANSITIONS, TRIGGERS)."""

    def __init__(self, definition):
        self.definition = definition
        self.states = definition.STATES
        self.transitions = definition.TRANSITIONS
        self.triggers = definition.TRIGGERS
        self.roles = {t["trigger"]: _roles(t["roles"]) for t in self.transitions}
        self._sources = {}
        for t in self.transitions:
            for src in t["source"] if isinstance(t["source"], list) else [t["source"]]:
                self._sources.setdefault(src, []).append(t["trigger"])
        self._lock = threading.Lock()

    @cached_property
    def _machine(self):
        transitions = [
            {"trigger": t["trigger"], "source": t["source"], "dest": t["dest"],
             "conditions": [_as_condition(name) for name in t.get("conditions", [])]}
            for t in self.transitions
        ]
        return Machine(model=None, states=self.states, transitions=transitions, initial=None,
                       model_attribute="state", auto_transitions=False, send_event=True)

    def may_fire(self, role, trigger):
        """True when the role may fire the trigger (from some state)."""
        return role in self.roles.get(trigger, ())

    def triggers_from(self, state):
        """Every trigger that leaves `state`, in the order of the data file."""
        return list(dict.fromkeys(self._sources.get(state, [])))

    def allowed_triggers(self, state, role=None):
        """Triggers leaving `state` that `role` may fire (all of them when role is None)."""
        return [t for t in self.triggers_from(state) if role is None or self.may_fire(role, t)]

    def fire(self, state, trigger, role, ctx=None):
        """Return the state after firing `trigger` from `state` as `role`, or raise why not."""
        if trigger not in self.triggers:
            raise UnknownTrigger(trigger)
        if not self.may_fire(role, trigger):
            raise TriggerForbidden(trigger, role)
        if trigger not in self.triggers_from(state):
            raise IllegalTrigger(state, trigger, self.allowed_triggers(state, role))
        subject = _Subject(state)
        with self._lock:
            self._machine.add_model(subject, initial=state)
            try:
                subject.trigger(trigger, ctx=ctx or TriggerContext())
            except MachineError as exc:  # pragma: no cover - checked above, kept as a backstop
                raise IllegalTrigger(state, trigger,
                                     self.allowed_triggers(state, role)) from exc
            finally:
                self._machine.remove_model(subject)
        return subject.state


INCIDENT = Workflow(incident)
DISPATCH = Workflow(dispatch)
