"""`flask audit verify`: the incident timelines' hash chains, checked end to end."""

import sys

import click
from flask.cli import AppGroup

from app.services.incidents.audit import verify_chains


@click.group(cls=AppGroup)
def audit():
    """The incident timeline's hash chain."""


@audit.command("verify")
def audit_verify():
    """Check every incident's event chain; name the first broken link, or say all is intact."""
    broken = verify_chains()
    if broken is None:
        click.echo("OK: every incident timeline is intact.")
        return
    click.echo(f"BROKEN: {broken}", err=True)
    sys.exit(1)
