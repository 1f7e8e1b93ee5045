"""Operator commands: demo data, API tokens, audit verification, the workflow diagram."""

import sys

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.auth import create_token
from app.cli.claims import claims
from app.cli.ingest_keys import ingest_key
from app.cli.organizations import org
from app.cli.reports import reports
from app.cli.stats import stats
from app.config import BASE_DIR
from app.extensions import db
from app.models import Organization, Technician, User
from app.models.people import ROLES

DIAGRAM_PATH = BASE_DIR / "docs" / "incident-lifecycle.md"


def register_cli(app):
    """Attach every command group to the app's `flask` CLI."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(token)
    app.cli.add_command(audit)
    app.cli.add_command(workflow)
    app.cli.add_command(user)
    app.cli.add_command(worker)
    app.cli.add_command(claims)
    app.cli.add_command(ingest_key)
    app.cli.add_command(org)
    app.cli.add_command(stats)
    app.cli.add_command(reports)


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load the demo organizations, contracts, policy, technicians and users (idempotent)."""
    from app.cli.demo import DEMO_PASSWORD, seed

    created = seed()
    click.echo(f"Demo data ready ({created} new rows). Logins, password '{DEMO_PASSWORD}':")
    for user in db.session.scalars(select(User).order_by(User.id)):
        if user.email.endswith("@demo.example"):
            click.echo(f"  {user.email:28} {user.role}")


@click.group(cls=AppGroup)
def token():
    """API tokens."""


@token.command("create")
@click.argument("email")
def token_create(email):
    """Print a new API token for the user with EMAIL, on one line."""
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    click.echo(create_token(user))


@click.group(cls=AppGroup)
def user():
    """People who log in."""


@user.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True)
@click.option("--organization", "organization_code", help="Customer's organization code.")
@click.option("--technician", "technician_id", type=click.IntRange(1, 2**31 - 1),
              help="The technician's id (role technician): the login acts for them.")
@click.password_option(help="Prompted for (twice) when not given.")
def user_create(email, role, name, organization_code, technician_id, password):
    """Create a user who can log in (e.g. the first administrator)."""
    email = email.strip().lower()
    if db.session.scalars(select(User).where(User.email == email)).first():
        raise click.ClickException(f"A user with e-mail {email} exists already.")
    organization = None
    if role == "customer":
        organization = db.session.scalars(select(Organization).where(
            Organization.code == (organization_code or "").upper())).first()
        if organization is None:
            raise click.ClickException("A customer needs --organization with a known code.")
    technician = _technician_for(role, technician_id)
    if len(password) < 10:
        raise click.ClickException("Use a password of at least 10 characters.")
    new = User(email=email, name=name, role=role, organization=organization,
               technician=technician)
    new.set_password(password)
    db.session.add(new)
    db.session.commit()
    click.echo(f"Created {role} {email}.")


def _technician_for(role, technician_id):
    """The technician a technician's login acts for (the /tech/ pages need one); None for
    any other role, which may not name one."""
    if role != "technician":
        if technician_id is not None:
            raise click.ClickException("--technician is only for --role technician.")
        return None
    if technician_id is None:
        raise click.ClickException("A technician's login needs --technician with the "
                                   "technician's id (the Technicians page or "
                                   "GET /api/v1/technicians lists them).")
    technician = db.session.get(Technician, technician_id)
    if technician is None:
        raise click.ClickException(f"No technician has the id {technician_id}.")
    return technician


@click.command("worker")
@click.option("--once", is_flag=True, help="Drain what is due now, then exit.")
@with_appcontext
def worker(once):
    """Send queued notifications and fire due escalation timers (runs until stopped)."""
    from notifications.providers import ProviderConfigError
    from notifications.worker import run

    try:
        run(once=once)
    except ProviderConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(cls=AppGroup)
def audit():
    """The incident timeline's hash chain."""


@audit.command("verify")
def audit_verify():
    """Check every incident's event chain; name the first broken link, or say all is intact."""
    from app.services.incidents.audit import verify_chains

    broken = verify_chains()
    if broken is None:
        click.echo("OK: every incident timeline is intact.")
        return
    click.echo(f"BROKEN: {broken}", err=True)
    sys.exit(1)


@click.group(cls=AppGroup)
def workflow():
    """The state machines."""


@workflow.command("diagram")
@click.option("--check", is_flag=True, help="Fail if the committed diagram is out of date.")
def workflow_diagram(check):
    """Write the incident lifecycle diagram (mermaid) into docs/."""
    from workflows.diagram import markdown

    text = markdown()
    if check:
        if not DIAGRAM_PATH.exists() or DIAGRAM_PATH.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{DIAGRAM_PATH} is out of date; run "
                                       "'flask --app wsgi workflow diagram'.")
        click.echo("The diagram is up to date.")
        return
    DIAGRAM_PATH.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {DIAGRAM_PATH}")
