"""The technician's phone page: evidence (receipts, photos from the camera) for a visit.

The upload takes the same path as the desk's (app/web/desk/evidence.py: its own size limit
and CSRF check); the dispatch must be the technician's own, else 404.
"""

from flask import redirect, url_for
from flask_login import current_user

from app.access import get_dispatch_for
from app.auth import permission_required
from app.extensions import csrf
from app.web.desk.evidence import store_from_form
from app.web.technician import bp


@bp.post("/tech/dispatches/<int:dispatch_id>/evidence")
@csrf.exempt
@permission_required("technician.pages")
def upload_evidence(dispatch_id):
    """Add a file to the incident of one of my visits."""
    dispatch = get_dispatch_for(current_user, dispatch_id)
    store_from_form(dispatch.incident_id, dispatch_id=dispatch.id)
    return redirect(url_for("technician.dispatch", dispatch_id=dispatch.id) + "#evidence")
