"""Pages of the monthly reports."""

from app.reports import bp  # noqa: F401
