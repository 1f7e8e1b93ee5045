"""Routes of the dispatch blueprint."""

from app.dispatch import bp  # noqa: F401
