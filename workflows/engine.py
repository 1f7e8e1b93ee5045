"""Fire triggers of a state machine (incident, dispatch) on a state, with guards and roles.

One `transitions.Machine` per workflow per process (building one costs ~3x attaching
a model); a subject is attached only while firing and always removed again.
"""

import threading
from functools import cached_property

from transitions import Machine, MachineError

from workflows import dispatch, incident
from workflows.guards import GUARDS, MissingFact, Refusal, TriggerContext

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


def _unchecked(facts):
    """The refusal of a guard whose facts were not looked up: it never passes."""
    return Refusal("fact_unavailable", "This cannot be checked now (nothing looked up "
                   f"{', '.join(facts)}); nothing was changed.")


def _as_condition(name):
    guard = GUARDS[name]

    def condition(event):
        try:
            refusal = guard(event.kwargs["ctx"])
        except MissingFact as missing:  # a fact the guard reads but did not declare
            refusal = _unchecked([str(missing)])
        if refusal is not None:
            raise GuardRefused(event.state.name, event.event.name, refusal)
        return True

    condition.__name__ = name  # the diagram labels conditions by name
    return condition


def _sources(transition):
    source = transition["source"]
    return source if isinstance(source, list) else [source]


class Workflow:
    """One state machine described by a data module (STATES, TRANSITIONS, TRIGGERS).

    Each trigger appears in one transition (possibly from several states), so what a
    trigger needs and does (params, the facts of its guards, effects) is read per trigger.
    """

    def __init__(self, definition):
        self.definition = definition
        self.states = definition.STATES
        self.transitions = definition.TRANSITIONS
        self.triggers = definition.TRIGGERS
        self.roles = {t["trigger"]: _roles(t["roles"]) for t in self.transitions}
        # What a trigger needs and does; an unknown trigger needs and does nothing (fire
        # refuses it as unknown).
        self._by_trigger = {t["trigger"]: t for t in self.transitions}
        self._sources = {}
        for t in self.transitions:
            for src in _sources(t):
                self._sources.setdefault(src, []).append(t["trigger"])
        self._lock = threading.Lock()

    def params_of(self, trigger):
        """What `trigger` needs from its caller, e.g. ["reason"]."""
        return list(self._by_trigger.get(trigger, {}).get("params", []))

    def facts_of(self, trigger):
        """The facts the guards of `trigger` read, in the order they are declared."""
        guards = self._by_trigger.get(trigger, {}).get("conditions", [])
        return list(dict.fromkeys(fact for name in guards for fact in GUARDS[name].facts))

    def effects_of(self, trigger):
        """The side effects of `trigger`, by name, in the order they run."""
        return list(self._by_trigger.get(trigger, {}).get("effects", []))

    def sources_of(self, trigger):
        """The states `trigger` leaves from."""
        return _sources(self._by_trigger[trigger])

    def incident_trigger_of(self, trigger):
        """The incident trigger a dispatch trigger fires on its incident, or None."""
        return self._by_trigger.get(trigger, {}).get("incident_trigger")

    def person_triggers(self):
        """Triggers a person's role may fire (every other one is the application's own)."""
        return [t["trigger"] for t in self.transitions if t["roles"]]

    def person_params(self):
        """Every parameter a person's trigger takes, in the order of the data file."""
        return list(dict.fromkeys(p for t in self.person_triggers() for p in self.params_of(t)))

    def all_facts(self):
        """Every fact some guard of this machine reads."""
        return list(dict.fromkeys(f for t in self.triggers for f in self.facts_of(t)))

    def all_effects(self):
        """Every side effect this machine names."""
        return list(dict.fromkeys(e for t in self.triggers for e in self.effects_of(t)))

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
        ctx = ctx or TriggerContext()
        ctx.state = state
        unchecked = [fact for fact in self.facts_of(trigger) if fact not in ctx.facts]
        if unchecked:  # fail closed: a guard with a fact nobody looked up never passes
            raise GuardRefused(state, trigger, _unchecked(unchecked))
        subject = _Subject(state)
        with self._lock:
            self._machine.add_model(subject, initial=state)
            try:
                subject.trigger(trigger, ctx=ctx)
            except MachineError as exc:  # pragma: no cover - checked above, kept as a backstop
                raise IllegalTrigger(state, trigger,
                                     self.allowed_triggers(state, role)) from exc
            finally:
                self._machine.remove_model(subject)
        return subject.state


INCIDENT = Workflow(incident)
DISPATCH = Workflow(dispatch)
