"""API routes: claims."""

from app.api import bp  # noqa: F401
