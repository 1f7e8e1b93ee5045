"""Alerts: sensors POST them with their organization's ingest key (not a user token); people
list them with their API token (staff every organization's, a customer its own).

The blueprint's before_request lets the ingest through without user authentication and
JSON checks: the key is checked here, and the body is JSON or CEF text (docs/alerts.md).
"""

from flask import current_app, g, request
from flask_openapi3 import Tag
from pydantic import BaseModel, Field

from app.api import bp
from app.api.schemas import MAX_INTEGER, Severity, Strict
from app.domain.timeutil import isoformat_utc
from app.services.incidents.queries import list_alerts
from app.services.monitoring import ingest as service

TAG = Tag(name="alerts", description="Monitoring alerts: sensors send them with an ingest key; "
          "staff and customers list them")
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


class AlertListQuery(Strict):
    organization_id: int | None = Field(None, ge=1, le=MAX_INTEGER)
    severity: Severity | None = None
    source: str | None = Field(None, max_length=32, description="Exact, e.g. wazuh or edr")
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=200)


class AlertOut(BaseModel):
    id: int
    organization_id: int
    source: str
    sensor: str
    severity: str
    rule_id: str
    rule_name: str
    hosts: list[str]
    addresses: list[str]
    occurred_at: str
    first_seen_at: str
    last_seen_at: str
    count: int = Field(description="Sightings: the first and its repeats within the window")
    incident_id: int | None
    incident_reference: str | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


def alert_out(row):
    """One row of list_alerts as the API shows it."""
    alert = row.Alert
    return {"id": alert.id, "organization_id": alert.organization_id, "source": alert.source,
            "sensor": alert.sensor, "severity": alert.severity, "rule_id": alert.rule_id,
            "rule_name": alert.rule_name, "hosts": alert.hosts or [],
            "addresses": alert.addresses or [],
            "occurred_at": isoformat_utc(alert.occurred_at),
            "first_seen_at": isoformat_utc(alert.first_seen_at),
            "last_seen_at": isoformat_utc(alert.last_seen_at), "count": alert.count,
            "incident_id": alert.incident_id, "incident_reference": row.incident_reference}


@bp.get("/alerts", tags=[TAG], responses={200: AlertPage})
def list_alerts_endpoint(query: AlertListQuery):
    """Alerts you may see, newest first, filtered, a page at a time (follow next_cursor)."""
    limit = min(query.limit, current_app.config["API_PAGE_SIZE_MAX"])
    page = list_alerts(g.api_user, query.model_dump(), cursor=query.cursor, limit=limit)
    return {"items": [alert_out(row) for row in page.items], "next_cursor": page.next_cursor}
