"""The dispatcher's board: open incidents needing or having a technician."""

from flask import Blueprint

from app.auth import roles_required

bp = Blueprint("dispatch", __name__)


@bp.before_request
@roles_required("dispatcher", "admin")
def _dispatcher_roles():
    """The role check for every page of the board."""
    return None


from app.web.dispatch import views  # noqa: E402,F401  (routes register on bp)
