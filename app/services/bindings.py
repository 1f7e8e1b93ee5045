"""The names of the workflows bound to code: fact providers and side-effect handlers.

The workflows name the facts their guards read and the side effects of each trigger
(workflows/); app/services/wiring.py binds every name to a function of some context and
create_app installs that table on the app. The lifecycle and the dispatch steps look a name
up here when they fire, so no use case imports another context's handlers (no cycles), and
a name with no binding refuses instead of passing (lifecycle.py, visits.py).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import current_app

from app.errors import GuardConflict

KEY = "kaketsuke.bindings"


@dataclass(frozen=True)
class Bindings:
    """Every name the workflows use, bound to the code behind it.

    - facts: fact name -> provider(incident, params, now) -> the fact's value
    - incident_effects: effect name -> handler(step) of an incident trigger (lifecycle.Step)
    - dispatch_effects: effect name -> handler(step) of a dispatch trigger (visits.VisitStep)

    (The worker's periodic tasks are wired in app/services/wiring.py too, but handed to
    notifications.worker.init_app, which owns the loop.)
    """

    facts: Mapping[str, Callable] = field(default_factory=dict)
    incident_effects: Mapping[str, Callable] = field(default_factory=dict)
    dispatch_effects: Mapping[str, Callable] = field(default_factory=dict)


def install(app, bindings):
    """Give `app` its bindings (create_app does this once)."""
    app.extensions[KEY] = bindings


def current():
    """The bindings of the running app."""
    return current_app.extensions[KEY]


def facts_for(workflow, trigger, incident, params, now):
    """The facts `trigger`'s guards read, from their bound providers (only those: a fact with
    no provider stays missing, and the workflow refuses the trigger)."""
    providers = current().facts
    return {name: providers[name](incident, params, now)
            for name in workflow.facts_of(trigger) if name in providers}


def handlers_for(workflow, trigger, handlers):
    """`trigger`'s side-effect handlers from `handlers`, in the workflow's order; a name with
    no handler refuses the trigger (409) before anything changes."""
    names = workflow.effects_of(trigger)
    unbound = [name for name in names if name not in handlers]
    if unbound:
        raise GuardConflict("This step cannot be carried out now; nothing was changed.",
                            {"trigger": trigger, "reason": "effect_unbound",
                             "effects": unbound})
    return [handlers[name] for name in names]
