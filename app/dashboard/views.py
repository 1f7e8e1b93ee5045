"""Pages of the provider dashboard."""

from app.dashboard import bp  # noqa: F401
