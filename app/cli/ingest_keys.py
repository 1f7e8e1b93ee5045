"""Operator commands for the alert ingest keys sensors send with."""

import click
from flask.cli import AppGroup

from app.errors import NotFound
from app.services.actors import CommandLineOperator
from app.services.monitoring import ingest as service

ingest_key = AppGroup("ingest-key", help="Create and revoke organizations' alert ingest keys.")


@ingest_key.command("create")
@click.argument("organization")
def ingest_key_create(organization):
    """Make an ingest key for ORGANIZATION (id or code); the key is printed once."""
    try:
        key = service.create_ingest_key(service.find_organization(organization),
                                        actor=CommandLineOperator())
    except NotFound as error:
        raise click.ClickException(error.message) from None
    click.echo(key)


@ingest_key.command("revoke")
@click.argument("prefix")
def ingest_key_revoke(prefix):
    """Revoke the ingest key whose first 12 characters are PREFIX."""
    try:
        revoked = service.revoke_ingest_key(prefix, actor=CommandLineOperator())
    except NotFound as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Revoked {revoked} key(s) starting with {prefix[:service.PREFIX_LENGTH]}.")
