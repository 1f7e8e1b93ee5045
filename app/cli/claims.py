"""Operator commands for insurance claims: the signing key to hand to insurers, and checking a
claim packet offline.

`claims verify` exits 0 when the packet is intact and signed by the key given with
--public-key, 3 when it is intact but no key was given (its origin is unchecked), and 1 when
anything is wrong (docs/claim-packet.md).
"""

import sys

import click
from flask.cli import AppGroup

from app.services.claims.packets import signing_public_key, verify_packet

EXIT_VERIFIED, EXIT_FAILED, EXIT_INTEGRITY_ONLY = 0, 1, 3


@click.group("claims", cls=AppGroup)
def claims():
    """Insurance claims and their signed packets."""


@claims.command("public-key")
def claims_public_key():
    """Print the public key that signs claim packets and its fingerprint, for insurers."""
    public_b64, fingerprint = signing_public_key()
    click.echo("Public key (base64 of the 32 raw Ed25519 bytes, as manifest.json's "
               "signature.public_key holds it):")
    click.echo(public_b64)
    click.echo("Fingerprint (SHA-256 of the 32 raw public key bytes, hex in groups of four):")
    click.echo(fingerprint)


@claims.command("verify")
@click.argument("packet", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", default=None,
              help="Base64 Ed25519 public key the packet must be signed with (from `flask "
                   "claims public-key` or the insurer portal). Without it only integrity is "
                   "checked, and the exit code is 3.")
def claims_verify(packet, public_key):
    """Check a claim packet ZIP: exit 0 verified with the key, 3 intact (origin unchecked),
    1 with each changed, added or missing file named."""
    problems = verify_packet(packet, public_key=public_key)
    if problems:
        for problem in problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        sys.exit(EXIT_FAILED)
    if public_key:
        click.echo("OK: every file matches the signed manifest, signed by the expected key.")
        return
    click.echo("INTEGRITY ONLY: every file matches the manifest and its signature, but the "
               "signature was checked with the key the packet itself names, so anyone could "
               "have made it. The origin is NOT checked: pass --public-key with the key from "
               "`flask claims public-key` or the insurer portal.")
    sys.exit(EXIT_INTEGRITY_ONLY)
