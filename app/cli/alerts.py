"""`flask alerts syslog`: the syslog receiver as its own long-running process."""

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from app.services.monitoring.receiver import (
    BATCH_LINES,
    BATCH_SECONDS,
    DEFAULT_MAX_FRAME,
    STATS_SECONDS,
    WRITERS,
    Options,
    Receiver,
)

alerts = AppGroup("alerts", help="Monitoring alerts: the syslog receiver.")


def _configure_logging():
    """INFO lines on stderr when nobody configured logging (as `flask worker` does)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@alerts.command("syslog")
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="The address to listen on (0.0.0.0 or :: for every interface).")
@click.option("--tcp", type=click.IntRange(0, 65535), metavar="PORT",
              help="TCP port: RFC 6587 octet-counted or LF-framed messages (0: any free).")
@click.option("--udp", type=click.IntRange(0, 65535), metavar="PORT",
              help="UDP port: one message per datagram (0: any free).")
@click.option("--tls", type=click.IntRange(0, 65535), metavar="PORT",
              help="TLS port (RFC 5425), needs --cert and --key (0: any free).")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False),
              help="The TLS server certificate chain (PEM).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False),
              help="The TLS server private key (PEM).")
@click.option("--client-ca", type=click.Path(exists=True, dir_okay=False),
              help="With --tls: ask senders for a client certificate issued under these CAs "
                   "(PEM; a self-signed certificate may be its own CA); one whose SHA-256 is "
                   "bound to a key (ingest-key create --cert-fingerprint) names the sender.")
@click.option("--max-frame", type=click.IntRange(480, 16 * 1024 * 1024),
              default=DEFAULT_MAX_FRAME, show_default=True,
              help="The largest message in bytes; larger frames are refused and skipped.")
@click.option("--batch-lines", type=click.IntRange(1, 10_000), default=BATCH_LINES,
              show_default=True, help="Messages of one sender stored in one transaction.")
@click.option("--batch-seconds", type=click.FloatRange(0.01, 3600), default=BATCH_SECONDS,
              show_default=True, help="The longest a received message waits for its batch.")
@click.option("--writers", type=click.IntRange(1, 16), default=WRITERS, show_default=True,
              help="Database threads storing batches.")
@click.option("--stats-seconds", type=click.FloatRange(0.1, 86400), default=STATS_SECONDS,
              show_default=True, help="How often the counters are logged.")
def syslog(bind, tcp, udp, tls, cert, key, client_ca, max_frame, batch_lines, batch_seconds,
           writers, stats_seconds):
    """Receive syslog (CEF, Wazuh and others) from bound senders until SIGTERM or SIGINT.

    Prints "listening tcp=PORT udp=PORT tls=PORT" once every port is open."""
    if tcp is None and udp is None and tls is None:
        raise click.UsageError("Give at least one of --tcp, --udp and --tls.")
    if tls is not None and not (cert and key):
        raise click.UsageError("--tls needs --cert and --key.")
    if client_ca and tls is None:
        raise click.UsageError("--client-ca is for --tls.")
    _configure_logging()
    options = Options(bind=bind, tcp=tcp, udp=udp, tls=tls, cert=cert, key=key,
                      client_ca=client_ca,
                      max_frame=max_frame, batch_lines=batch_lines,
                      batch_seconds=batch_seconds, stats_seconds=stats_seconds,
                      writers=writers)
    try:
        Receiver(current_app._get_current_object(), options, announce=click.echo).run()
    except OSError as error:  # the port is taken, or needs privileges
        raise click.ClickException(f"Cannot listen (or read the certificate): {error}") from None
