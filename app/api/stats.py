"""Provider statistics over the API: the dashboard figures and the liaison export."""

from app.api import bp  # noqa: F401
