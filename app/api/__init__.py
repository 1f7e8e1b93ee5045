"""JSON API v1: bearer-token authenticated, one error shape, documented by OpenAPI."""

from flask import current_app, request
from flask_openapi3 import APIBlueprint
from werkzeug.exceptions import BadRequest

from app.api.schemas import ErrorResponse
from app.auth import authenticate_api_request
from app.errors import MalformedJSON, UnsupportedMediaType
from app.extensions import csrf

ERRORS = {code: ErrorResponse for code in (400, 401, 403, 404, 409, 413, 415, 422)}

bp = APIBlueprint("api", __name__, url_prefix="/api/v1",
                  abp_security=[{"bearerAuth": []}], abp_responses=ERRORS)
csrf.exempt(bp)  # token-authenticated: no cookies, so no cross-site forgery


@bp.before_request
def _authenticate_and_check_body():
    """Every API call needs a token; every body must be well-formed JSON (but one upload)."""
    if request.endpoint == "api.ingest_alerts":  # ingest key and size checked there
        request.max_content_length = None  # (app/api/alerts.py; ALERT_MAX_BYTES -> 413)
        return
    authenticate_api_request()
    if request.endpoint == "api.upload_evidence":  # the one multipart body (app/api/evidence.py)
        request.max_content_length = current_app.config["EVIDENCE_MAX_BYTES"] + 1024 * 1024
        return
    if request.method in ("POST", "PUT", "PATCH"):
        if not request.is_json:
            raise UnsupportedMediaType("Send the body as application/json.",
                                       {"content_type": request.content_type or ""})
        try:
            request.get_json()  # parsed once and cached for the view
        except BadRequest as exc:
            raise MalformedJSON("The body is not valid JSON.") from exc


from app.api import (  # noqa: E402,F401  (routes register on bp)
    admin_changes,
    alerts,
    claims,
    contracts,
    costs,
    dispatches,
    evidence,
    incidents,
    insurers,
    mail,
    organizations,
    reports,
    stats,
    technicians,
    tokens,
)
