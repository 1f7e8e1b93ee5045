"""Routes of the devtools blueprint."""

from app.devtools import bp  # noqa: F401
