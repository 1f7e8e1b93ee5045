"""`flask audit verify`: the incident timelines' hash chains and their signed heads, checked
end to end; `flask audit sign-unsigned`: sign the intact chains written before heads were."""

import sys

import click
from flask.cli import AppGroup

from app.services.incidents.audit import UNSIGNED, chain_problems, sign_unsigned_heads


@click.group(cls=AppGroup)
def audit():
    """The incident timeline's hash chain."""


@audit.command("verify")
def audit_verify():
    """Check every incident's event chain and head signature; name each incident that fails."""
    problems = list(chain_problems())
    if not problems:
        click.echo("OK: every incident timeline is intact and its head signed by the audit key.")
        return
    for problem in problems:
        label = "UNSIGNED" if problem.kind == UNSIGNED else "BROKEN"
        click.echo(f"{label}: {problem}", err=True)
    unsigned = sum(p.kind == UNSIGNED for p in problems)
    click.echo(f"{len(problems)} incident(s) fail: {len(problems) - unsigned} broken or "
               f"wrongly signed, {unsigned} unsigned.", err=True)
    if unsigned:
        click.echo("Unsigned heads are legacy chains (written before heads were signed) or "
                   "had their signature removed; after checking them, `flask audit "
                   "sign-unsigned` signs the intact ones.", err=True)
    sys.exit(1)


@audit.command("sign-unsigned")
def audit_sign_unsigned():
    """Sign the head of every intact chain that has no signature yet (once, after upgrading)."""
    signed, left = sign_unsigned_heads()
    click.echo(f"Signed {signed} chain head(s); {left} unsigned chain(s) are broken and "
               "were left unsigned.")
    if left:
        sys.exit(1)
