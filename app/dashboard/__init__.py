"""The provider dashboard and the liaison-meeting statistics (staff only)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from app.dashboard import views  # noqa: E402,F401  (routes register on bp)
