"""Routes of the technician blueprint."""

from app.technician import bp  # noqa: F401
