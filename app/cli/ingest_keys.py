"""Operator commands for the alert ingest keys sensors send with."""

import click
from flask.cli import AppGroup

from app.errors import AppError, NotFound
from app.services.actors import CommandLineOperator
from app.services.monitoring import ingest as service
from app.services.monitoring import senders

ingest_key = AppGroup("ingest-key", help="Create and revoke organizations' alert ingest keys.")


@ingest_key.command("create")
@click.argument("organization")
@click.option("--sender", "sender_networks", multiple=True, metavar="CIDR",
              help="A syslog sender's address or CIDR (IPv4 or IPv6) bound to the key; "
                   "repeat for several.")
@click.option("--sensor", default="", help="The sensor named on alerts that name none "
                                           "(default: the sender's address, else the "
                                           "organization's code).")
@click.option("--cert-fingerprint", default="", metavar="SHA256",
              help="The SHA-256 fingerprint of a syslog sender's TLS client certificate "
                   "(openssl x509 -noout -fingerprint -sha256 -in CERT).")
def ingest_key_create(organization, sender_networks, sensor, cert_fingerprint):
    """Make an ingest key for ORGANIZATION (id or code); the key is printed once."""
    try:
        key = senders.create_bound_key(service.find_organization(organization),
                                       sender_networks, sensor, actor=CommandLineOperator(),
                                       cert_fingerprint=cert_fingerprint)
    except AppError as error:
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
