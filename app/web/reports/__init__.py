"""Monthly reports (月次レポート): customers see their own, staff every organization's."""

from flask import Blueprint

from app.auth import permission_required

bp = Blueprint("reports", __name__)


@bp.before_request
@permission_required("reports.read")
def _report_roles():
    """The role check for every page: technicians and insurers see no reports."""
    return None


from app.web.reports import views  # noqa: E402,F401  (routes register on bp)
