"""The dispatcher's board: open incidents needing or having a technician."""

from flask import Blueprint

from app.auth import permission_required

bp = Blueprint("dispatch", __name__)


@bp.before_request
@permission_required("dispatch.board")
def _dispatcher_roles():
    """The role check for every page of the board."""
    return None


from app.web.dispatch import views  # noqa: E402,F401  (routes register on bp)
