"""The provider dashboard and the liaison-meeting statistics (staff only)."""

from flask import Blueprint

from app.auth import permission_required

bp = Blueprint("dashboard", __name__)


@bp.before_request
@permission_required("dashboard.read")
def _staff_only():
    """The role check for every page: desk, dispatchers and admins."""
    return None


from app.web.dashboard import views  # noqa: E402,F401  (routes register on bp)
