"""The customer's pages: one of its organization's incidents in plain words (the timeline it
may read, the work report to sign off, its share of the costs), and what it can add."""

from flask import Blueprint

from app.auth import permission_required

bp = Blueprint("customer", __name__)


@bp.before_request
@permission_required("customer.pages")
def _customer_role():
    """The role check for every page: customers only (staff use the console)."""
    return None


from app.web.customer import views  # noqa: E402,F401  (routes register on bp)
