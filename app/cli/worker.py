"""`flask worker`: sends the outbox and runs the app's timers (notifications/worker.py)."""

import click
from flask.cli import with_appcontext

from notifications.providers import ProviderConfigError
from notifications.worker import run


@click.command("worker")
@click.option("--once", is_flag=True, help="Drain what is due now, then exit.")
@with_appcontext
def worker(once):
    """Send queued notifications and fire due escalation timers (runs until stopped)."""
    try:
        run(once=once)
    except ProviderConfigError as exc:
        raise click.ClickException(str(exc)) from exc
