"""The operator's `flask` commands, one module per subject; register_cli attaches them all."""

from app.cli import (
    alerts,
    audit,
    claims,
    demo,
    ingest_keys,
    mail,
    organizations,
    people,
    reports,
    stats,
    worker,
    workflow,
)

COMMANDS = (demo.seed_demo, people.token, audit.audit, workflow.workflow, people.user,
            worker.worker, claims.claims, ingest_keys.ingest_key, organizations.org,
            stats.stats, reports.reports, alerts.alerts, mail.mail)


def register_cli(app):
    """Attach every command group to the app's `flask` CLI."""
    for command in COMMANDS:
        app.cli.add_command(command)
