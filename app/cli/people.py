"""Commands for logins: API tokens and users (the first administrator, customers' logins)."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth import create_token
from app.domain.timeutil import to_jst
from app.errors import AppError
from app.extensions import db
from app.models import Insurer, Organization, Technician, User
from app.models.people import ROLES
from app.services.actors import CommandLineOperator
from app.services.directory import tokens, users


@click.group(cls=AppGroup)
def token():
    """API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--expires-days", type=click.IntRange(1, 3650),
              help="Refused after this many days (default: valid until revoked).")
def token_create(email, expires_days):
    """Print a new API token for the user with EMAIL, on one line."""
    user = db.session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise click.ClickException(f"No user with e-mail {email}.")
    click.echo(create_token(user, expires_days=expires_days))


def _when(value):
    """A stored time in Japan time, or "-"."""
    return to_jst(value).strftime("%Y-%m-%d %H:%M JST") if value else "-"


@token.command("list")
@click.argument("email", required=False)
def token_list(email):
    """List API tokens (of the user with EMAIL): id, prefix, user, created, last used,
    expires, revoked."""
    click.echo("id\tprefix\tuser\tcreated\tlast used\texpires\trevoked")
    for row in tokens.list_tokens(CommandLineOperator(), email):
        click.echo("\t".join([str(row.id), row.prefix, row.user.email, _when(row.created_at),
                              _when(row.last_used_at), _when(row.expires_at),
                              _when(row.revoked_at)]))


@token.command("revoke")
@click.argument("prefix_or_id")
def token_revoke(prefix_or_id):
    """Revoke the API token with this id or prefix (see `flask token list`)."""
    operator = CommandLineOperator()
    try:
        found = tokens.find_token(operator, prefix_or_id)
        tokens.revoke_token(operator, found)
    except AppError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Revoked token {found.prefix}… of {found.user.email}.")


@click.group(cls=AppGroup)
def user():
    """People who log in."""


@user.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True)
@click.option("--organization", "organization_code", help="Customer's organization code.")
@click.option("--insurer", "insurer_code", help="The insurer's code (role insurer).")
@click.option("--technician", "technician_id", type=click.IntRange(1, 2**31 - 1),
              help="The technician's id (role technician): the login acts for them.")
@click.password_option(help="Prompted for (twice) when not given.")
def user_create(email, role, name, organization_code, insurer_code, technician_id, password):
    """Create a user who can log in (e.g. the first administrator); a customer's login
    names its organization, an insurer's its insurer, a technician's the technician it acts
    for (the Technicians page or GET /api/v1/technicians lists their ids)."""
    organization = _by_code(Organization, organization_code, "organization")
    insurer = _by_code(Insurer, insurer_code, "insurer")
    technician = None
    if technician_id is not None:
        technician = db.session.get(Technician, technician_id)
        if technician is None:
            raise click.ClickException(f"No technician has the id {technician_id}.")
    try:
        created = users.create_user(CommandLineOperator(), email=email, name=name, role=role,
                                    password=password, organization=organization,
                                    insurer=insurer, technician=technician)
    except AppError as error:
        hint = OPTION_HINTS.get((error.details.get("field"), error.details.get("reason")))
        raise click.ClickException(hint or error.message) from None
    click.echo(f"Created {created.role} {created.email}.")


@user.command("password")
@click.argument("email")
@click.password_option(help="Prompted for (twice) when not given.")
def user_password(email, password):
    """Set a new password for the login with EMAIL; its sessions end."""
    operator = CommandLineOperator()
    try:
        found = users.find_user(operator, email, action="users.create")
        users.set_password(operator, found.id, password)
    except AppError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"New password set for {found.email}; its sessions ended.")


@user.command("deactivate")
@click.argument("email")
def user_deactivate(email):
    """Deactivate the login with EMAIL: it cannot log in, its sessions end and its API
    tokens are revoked."""
    operator = CommandLineOperator()
    try:
        found = users.find_user(operator, email)
        users.deactivate_user(operator, found.id)
    except AppError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Deactivated {found.email}; its sessions ended and its API tokens were "
               "revoked.")


def _by_code(model, code, kind):
    """The organization or insurer with `code` (None when none is named)."""
    if code is None:
        return None
    found = db.session.scalars(select(model).where(model.code == code.upper())).first()
    if found is None:
        raise click.ClickException(f"No {kind} has the code {code}.")
    return found


# The service's refusals of a login's affiliation, in the words of this command's options.
OPTION_HINTS = {
    ("organization", "required"): "A customer needs --organization with a known code.",
    ("organization", "not_allowed"): "--organization is only for --role customer.",
    ("insurer", "required"): "An insurer's login needs --insurer with a known code.",
    ("insurer", "not_allowed"): "--insurer is only for --role insurer.",
    ("technician", "required"): "A technician's login needs --technician with the "
                                "technician's id (the Technicians page or "
                                "GET /api/v1/technicians lists them).",
    ("technician", "not_allowed"): "--technician is only for --role technician.",
}
