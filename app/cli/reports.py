"""Operator commands for the monthly reports (月次レポート)."""

import click
from flask.cli import AppGroup

from app.errors import AppError
from app.services.reporting import monthly as service

reports = AppGroup("reports", help="Monthly reports per customer organization.")


@reports.command("monthly")
@click.option("--month", required=True, help="The JST calendar month, YYYY-MM.")
@click.option("--organization", "organization_code", default=None,
              help="Only this organization (its code); default: every organization with a "
                   "contract active in the month.")
@click.option("--no-email", is_flag=True, help="Build without e-mailing the customers.")
def reports_monthly(month, organization_code, no_email):
    """Build (or rebuild) the month's reports: one line per report, then a summary."""
    try:
        results = service.build_month(month, organization_code, email=not no_email)
    except AppError as error:
        raise click.ClickException(error.message) from None
    for result in results:
        report = result.report
        click.echo(f"{report.month} {report.organization.code} {report.pdf_path} "
                   f"sha256={report.pdf_sha256[:16]} e-mails={result.emails_queued} "
                   f"{report.organization.name}")
    emails = sum(r.emails_queued for r in results)
    click.echo(f"Built {len(results)} report(s) for {service.parse_month(month).text}; "
               f"{emails} e-mail(s) queued.")
