"""The desk console: incident list, incident page with triage, notes and triggers, phone intake.

Staff see every incident; technicians and insurers see only theirs (scoped in
app/services/incidents/queries.py) and get only the buttons their role may press.
"""

from flask import Blueprint

from app.auth import roles_required

bp = Blueprint("desk", __name__)
CONSOLE_ROLES = ("desk", "dispatcher", "admin", "technician", "insurer")


@bp.before_request
@roles_required(*CONSOLE_ROLES)
def _console_roles():
    """The role check for every page of the console."""
    return None


from app.web.desk import (  # noqa: E402,F401  (routes register on bp)
    alerts,
    costs,
    evidence,
    views,
)
