"""Monthly reports (月次レポート): customers see their own, staff every organization's."""

from flask import Blueprint

from app.auth import roles_required
from app.services.reporting.monthly import VIEWER_ROLES

bp = Blueprint("reports", __name__)


@bp.before_request
@roles_required(*VIEWER_ROLES)
def _report_roles():
    """The role check for every page: technicians and insurers see no reports."""
    return None


from app.web.reports import views  # noqa: E402,F401  (routes register on bp)
