"""Administration pages: organizations, their contracts and ingest keys, technicians and their
on-call shifts, insurers and their policies, logins and their API tokens."""

from flask import Blueprint

from app.auth import permission_required

bp = Blueprint("admin", __name__)


@bp.before_request
@permission_required("admin.pages")
def _admin_roles():
    """The role check for every administration page."""
    return None


from app.web.admin import (  # noqa: E402,F401  (routes register on bp)
    changes,
    contracts,
    ingest_keys,
    insurers,
    logins,
    mail_domains,
    organizations,
    policies,
    views,
)
