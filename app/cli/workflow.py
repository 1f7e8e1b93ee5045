"""`flask workflow diagram`: the state machines' diagrams, written into docs/."""

import click
from flask.cli import AppGroup

from app.config import BASE_DIR
from workflows.diagram import markdown

DIAGRAM_PATH = BASE_DIR / "docs" / "incident-lifecycle.md"


@click.group(cls=AppGroup)
def workflow():
    """The state machines."""


@workflow.command("diagram")
@click.option("--check", is_flag=True, help="Fail if the committed diagram is out of date.")
def workflow_diagram(check):
    """Write the incident lifecycle diagram (mermaid) into docs/."""
    text = markdown()
    if check:
        if not DIAGRAM_PATH.exists() or DIAGRAM_PATH.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{DIAGRAM_PATH} is out of date; run "
                                       "'flask --app wsgi workflow diagram'.")
        click.echo("The diagram is up to date.")
        return
    DIAGRAM_PATH.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {DIAGRAM_PATH}")
