"""Monthly reports (月次レポート): customers see their own, staff every organization's."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from app.reports import views  # noqa: E402,F401  (routes register on bp)
