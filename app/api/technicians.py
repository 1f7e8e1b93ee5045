"""API routes: technicians."""

from app.api import bp  # noqa: F401
