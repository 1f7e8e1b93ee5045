"""The insurer's portal: notices, claims of its policies, packets, and its decisions."""

from flask import Blueprint

from app.auth import permission_required

bp = Blueprint("insurer", __name__)


@bp.before_request
@permission_required("insurer.portal")
def _insurer_roles():
    """The role check for every page of the portal."""
    return None


from app.web.insurer import views  # noqa: E402,F401  (routes register on bp)
