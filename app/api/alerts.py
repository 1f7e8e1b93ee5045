"""Alert ingest: sensors POST alerts with their organization's ingest key (not a user token).

The blueprint's before_request lets this endpoint through without user authentication
and JSON checks: the key is checked here, and the body is JSON or CEF text (docs/alerts.md).
"""

from flask import request
from flask_openapi3 import Tag
from pydantic import BaseModel

from app.api import bp
from app.services import ingest as service

TAG = Tag(name="alerts", description="Monitoring alerts sent by sensors with an ingest key")
INGEST_ENDPOINT = "api.ingest_alerts"  # named in app/api/__init__.py's before_request


class AlertAccepted(BaseModel):
    id: int
    count: int
    incident_id: int | None
    new: bool


class IngestOut(BaseModel):
    alerts: list[AlertAccepted]
    incidents_created: int


def _bearer():
    """The plain key from 'Authorization: Bearer <key>' ('' when missing)."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


@bp.post("/alerts", tags=[TAG], responses={202: IngestOut})
def ingest_alerts():
    """Ingest alerts: generic or Wazuh JSON (application/json), or CEF lines (text/plain)."""
    result = service.ingest(_bearer(), request.content_type, _body())
    return result.as_json(), 202


def _body():
    """The raw body, read at most one byte past the limit (the service answers 413)."""
    return request.stream.read(service.max_bytes() + 1)
