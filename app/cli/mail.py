"""`flask mail poll`: the desk mailbox into incidents; `flask org domain ...`: the mail
domains that tell which organization a sender belongs to (docs/email.md)."""

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.cli.organizations import org
from app.errors import AppError
from app.services.actors import CommandLineOperator
from app.services.mail import poller, senders
from app.services.monitoring.ingest import find_organization

mail = AppGroup("mail", help="The desk's mailbox (the e-mail channel).")


@mail.command("poll")
@click.option("--once", is_flag=True, help="Drain the mailbox once, then exit.")
@with_appcontext
def mail_poll(once):
    """Read the IMAP_URL mailbox: each mail becomes an incident, a message on one, an
    unmatched mail or a refused one, then moves to IMAP_DONE_FOLDER (runs until stopped)."""
    config = current_app.config
    if not config["IMAP_URL"]:
        raise click.ClickException("IMAP_URL is not set (imaps://user:password@host:993/INBOX).")
    try:
        address = poller.parse_imap_url(config["IMAP_URL"])
    except AppError as error:
        raise click.ClickException(error.message) from None
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        result = poller.run(config, once=once, stop=stop)
    except poller.TROUBLE as exc:
        raise click.ClickException(f"mailbox {address.key}: {exc}") from None
    if result is not None:
        click.echo(f"{result.processed} mail(s) processed, {result.moved_only} moved that "
                   "had been processed before.")


domain = AppGroup("domain", help="Mail domains (or single addresses) of an organization.")
org.add_command(domain)


@domain.command("add")
@click.argument("organization")
@click.argument("domain_name")
@with_appcontext
def domain_add(organization, domain_name):
    """Register DOMAIN_NAME (example.co.jp, or one address) on ORGANIZATION (id or code):
    its senders' mail opens incidents for it."""
    try:
        entry = senders.add_domain(find_organization(organization).id, domain_name,
                                   CommandLineOperator())
    except AppError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Registered {entry.domain} on {entry.organization.code}.")


@domain.command("remove")
@click.argument("domain_name")
@with_appcontext
def domain_remove(domain_name):
    """Remove a registered domain or address."""
    try:
        pattern = senders.normalized_pattern(domain_name)
        entry = senders.registered_entry(pattern)
        if entry is None:
            raise click.ClickException(f"{pattern} is not registered.")
        senders.remove_domain(entry.id, CommandLineOperator())
    except AppError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Removed {pattern}.")


@domain.command("list")
@with_appcontext
def domain_list():
    """Every registered domain and address, with its organization."""
    for entry in senders.list_domains():
        click.echo(f"{entry.domain}\t{entry.organization.code}")
