"""Monthly reports over the API."""

from app.api import bp  # noqa: F401
