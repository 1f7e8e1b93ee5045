"""Administration pages: technicians and their on-call shifts."""

from flask import Blueprint

from app.auth import roles_required

bp = Blueprint("admin", __name__)


@bp.before_request
@roles_required("admin", "dispatcher")
def _admin_roles():
    """The role check for every administration page."""
    return None


from app.web.admin import (  # noqa: E402,F401  (routes register on bp)
    contracts,
    ingest_keys,
    insurers,
    organizations,
    policies,
    views,
)
