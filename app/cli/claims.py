"""Operator commands for insurance claims: checking a claim packet offline."""

import sys

import click
from flask.cli import AppGroup

from app.services.claims.packets import verify_packet


@click.group("claims", cls=AppGroup)
def claims():
    """Insurance claims and their signed packets."""


@claims.command("verify")
@click.argument("packet", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", default=None,
              help="Base64 Ed25519 public key the packet must be signed with "
                   "(default: the key named in its manifest).")
def claims_verify(packet, public_key):
    """Check a claim packet ZIP: say OK, or name each changed, added or missing file."""
    problems = verify_packet(packet, public_key=public_key)
    if not problems:
        how = "the expected key" if public_key else "the key named in its manifest"
        click.echo(f"OK: every file matches the signed manifest (signed by {how}).")
        return
    for problem in problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    sys.exit(1)
