"""Operator commands for statistics: the liaison-meeting export (事業者連絡会)."""

from pathlib import Path

import click
from flask.cli import AppGroup

from app.domain.timeutil import utcnow
from app.errors import InvalidInput
from app.services.reporting import liaison
from app.services.reporting.dashboard import parse_period

stats = AppGroup("stats", help="Provider statistics.")


@stats.command("liaison")
@click.option("--from", "first", metavar="YYYY-MM-DD", help="First JST date (default: 29 days "
              "before --to).")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="Last JST date (default: today).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True,
              help="Language of the labels.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def stats_liaison(first, last, fmt, lang, output):
    """Anonymized counts and case summaries of a period, for the IPA liaison meeting."""
    try:
        period = parse_period(first, last, utcnow())
    except InvalidInput as error:
        raise click.UsageError(f"--{error.details['field']}: {error.message}") from None
    data = liaison.export(liaison.build(period, lang), fmt)
    if output is None:
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
        return
    output.write_bytes(data)
    click.echo(f"Wrote {output} ({period.first} to {period.last}).", err=True)
