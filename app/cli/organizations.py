"""Operator commands for customer organizations (the admin pages and API do the same)."""


import click
from flask.cli import AppGroup

from app.errors import AppError
from app.services.actors import CommandLineOperator
from app.services.directory import organizations as service

org = AppGroup("org", help="Customer organizations.")


@org.command("create")
@click.argument("code")
@click.option("--name", required=True, help="The organization's name.")
@click.option("--prefecture", required=True, type=int, help="JIS code, 1 (Hokkaido) to 47 "
              "(Okinawa); 13 is Tokyo.")
@click.option("--address", default="", help="Postal address.")
@click.option("--industry", default="", help="e.g. 製造業.")
@click.option("--employees", default=0, type=int, show_default=True)
@click.option("--phone", "phones", multiple=True, help="A caller-ID number (repeat for "
              "several): +81..., or as dialled in Japan (03-...).")
def org_create(code, name, prefecture, address, industry, employees, phones):
    """Add the organization CODE (its customer number) and print its id."""
    fields = {"code": code, "name": name, "prefecture": prefecture, "address": address,
              "industry": industry, "employees": employees}
    try:
        organization = service.create_organization(
            CommandLineOperator(), fields, [{"number": phone} for phone in phones])
    except AppError as error:
        raise click.ClickException(error.message) from None
    numbers = ", ".join(p.number for p in service.phones_of(organization)) or "no phone"
    click.echo(f"Created organization {organization.code} (id {organization.id}; {numbers}).")
