"""The names of the workflows bound to code: fact providers, side-effect handlers, worker tasks.

The workflows name the facts their guards read and the side effects of each trigger
(workflows/); app/services/wiring.py binds every name to a function of some context and
create_app installs that table on the app. The lifecycle and the dispatch steps look a name
up here when they fire, so no use case imports another context's handlers (no cycles), and
a name with no binding refuses instead of passing (lifecycle.py, visits.py).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask import current_app

KEY = "kaketsuke.bindings"


@dataclass(frozen=True)
class Bindings:
    """Every name the workflows use, bound to the code behind it.

    - facts: fact name -> provider(incident, params, now) -> the fact's value
    - incident_effects: effect name -> handler(step) of an incident trigger (lifecycle.Step)
    - dispatch_effects: effect name -> handler(step) of a dispatch trigger (visits.VisitStep)
    - worker_tasks: what the worker runs on every pass besides sending: task(clock) -> how
      many things it handled
    - on_message_failed: what the worker does when a message is given up on:
      handler(notification, now), in the transaction that marks it failed
    """

    facts: Mapping[str, Callable] = field(default_factory=dict)
    incident_effects: Mapping[str, Callable] = field(default_factory=dict)
    dispatch_effects: Mapping[str, Callable] = field(default_factory=dict)
    worker_tasks: tuple = ()
    on_message_failed: Callable | None = None


def install(app, bindings):
    """Give `app` its bindings (create_app does this once)."""
    app.extensions[KEY] = bindings


def current():
    """The bindings of the running app."""
    return current_app.extensions[KEY]
