"""The incident machine as a mermaid state diagram, generated from the data file."""

from transitions.extensions import GraphMachine

from workflows import incident

HEADER = (
    "# Incident lifecycle\n\n"
    "Generated from `workflows/incident.py` by `flask --app wsgi workflow diagram`;"
    " do not edit by hand. Guards are shown in brackets.\n\n"
)


def mermaid():
    """Return the mermaid source of the incident state diagram."""
    transitions = [
        {k: v for k, v in t.items() if k in ("trigger", "source", "dest", "conditions")}
        for t in incident.TRANSITIONS
    ]
    machine = GraphMachine(
        states=incident.STATES, transitions=transitions, initial=incident.INITIAL_STATE,
        auto_transitions=False, graph_engine="mermaid", show_conditions=True,
        title="Incident lifecycle",
    )
    return machine.get_graph().draw(None)


def markdown():
    """Return the docs page holding the diagram."""
    return f"{HEADER}```mermaid\n{mermaid().strip()}\n```\n"
