"""The desk console: incident list, incident page with triage, notes and triggers, phone intake.

Staff see every incident; technicians and insurers see only theirs (scoped in
app/access.py) and get only the buttons their role may press.
"""

from flask import Blueprint

from app.auth import permission_required

bp = Blueprint("desk", __name__)


@bp.before_request
@permission_required("console.use")
def _console_roles():
    """The role check for every page of the console."""
    return None


from app.web.desk import (  # noqa: E402,F401  (routes register on bp)
    alerts,
    corrections,
    costs,
    evidence,
    live,
    mail,
    views,
)
