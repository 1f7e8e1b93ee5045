"""State machines as data, their guards, and the engine that fires them.

Pure Python: nothing here imports Flask or the database. Services hand in a
context of facts; the workflow answers with the new state or a refusal.
"""

from workflows.engine import (
    DISPATCH,
    INCIDENT,
    GuardRefused,
    IllegalTrigger,
    TriggerForbidden,
    UnknownTrigger,
    Workflow,
)

__all__ = [
    "DISPATCH",
    "INCIDENT",
    "GuardRefused",
    "IllegalTrigger",
    "TriggerForbidden",
    "UnknownTrigger",
    "Workflow",
]
