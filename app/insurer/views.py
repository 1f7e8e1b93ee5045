"""Routes of the insurer blueprint."""

from app.insurer import bp  # noqa: F401
