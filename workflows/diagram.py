"""The state machines as mermaid state diagrams, generated from their data files."""

from transitions.extensions import GraphMachine

from workflows import DISPATCH, INCIDENT

HEADER = (
    "# Lifecycles\n\n"
    "Generated from `workflows/incident.py` and `workflows/dispatch.py` by"
    " `flask --app wsgi workflow diagram`; do not edit by hand. Guards are shown in brackets."
    " Triggers marked *(system)* are fired by the application, not by a person: the"
    " technician's steps on the incident follow their dispatch.\n\n"
)
SECTIONS = [("Incident", INCIDENT), ("Dispatch (one technician offer and visit)", DISPATCH)]


def mermaid(workflow, title):
    """Return the mermaid source of one workflow's state diagram."""
    transitions = [
        {"trigger": t["trigger"] + ("" if t["roles"] else " (system)"), "source": t["source"],
         "dest": t["dest"], "conditions": t.get("conditions", [])}
        for t in workflow.transitions
    ]
    machine = GraphMachine(
        states=workflow.states, transitions=transitions,
        initial=workflow.definition.INITIAL_STATE, auto_transitions=False,
        graph_engine="mermaid", show_conditions=True, title=title,
    )
    return machine.get_graph().draw(None)


def markdown():
    """Return the docs page holding every diagram."""
    parts = [HEADER]
    for title, workflow in SECTIONS:
        parts.append(f"## {title}\n\n```mermaid\n{mermaid(workflow, title).strip()}\n```\n")
    return "\n".join(parts)
