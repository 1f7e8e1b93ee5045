"""API routes: costs."""

from app.api import bp  # noqa: F401
