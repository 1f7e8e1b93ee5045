"""Alerts: sensors POST them with their organization's ingest key (not a user token); people
list them with their API token (staff every organization's, a customer its own).

The blueprint's before_request lets the ingest through without user authentication and
JSON checks: the key is checked here, and the body is JSON or CEF text (docs/alerts.md).
"""

from typing import Literal

from flask import current_app, g, request
from flask_openapi3 import Tag
from pydantic import BaseModel, Field

from app.api import bp
from app.api.schemas import MAX_INTEGER, Id, Severity, Strict
from app.domain.alerts.parsers import SOURCES
from app.domain.timeutil import isoformat_utc
from app.errors import PayloadTooLarge
from app.services.incidents.queries import alert_detail, list_alerts
from app.services.monitoring import ingest as service
from app.services.monitoring.policy import set_alert_policy

TAG = Tag(name="alerts", description="Monitoring alerts: sensors send them with an ingest key; "
          "staff and customers list them")
INGEST_ENDPOINT = "api.ingest_alerts"  # named in app/api/__init__.py's before_request


class AlertAccepted(BaseModel):
    id: int
    count: int
    incident_id: int | None
    new: bool


class RecordResult(BaseModel):
    line: int = Field(description="The record's 1-based line in the body (NDJSON, CEF and "
                      "syslog lines; blank lines count), or its array index + 1 (a JSON "
                      "array or search response; 1 for a single object)")
    outcome: Literal["accepted", "repeat", "refused"] = Field(
        description="accepted: stored as a new alert; repeat: counted on a recent twin; "
                    "refused: not stored, kept on the desk's refused page")
    reason: str = Field(description="Why a record was refused; empty otherwise")
    alert_id: int | None = Field(description="The alert it was stored or counted on")


class IngestOut(BaseModel):
    alerts: list[AlertAccepted] = Field(description="The stored records, in input order")
    incidents_created: int
    results: list[RecordResult] = Field(description="Every record's outcome, in input order")


class IngestQuery(Strict):
    source: Literal[SOURCES] | None = Field(
        None, description="The adapter to read JSON records with; without it each record's "
                          "shape decides (docs/alerts.md)")


def _bearer():
    """The plain key from 'Authorization: Bearer <key>' ('' when missing)."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


@bp.post("/alerts", tags=[TAG], responses={202: IngestOut})
def ingest_alerts(query: IngestQuery):
    """Ingest alerts: generic, Wazuh or vendor JSON (application/json, also NDJSON as
    application/x-ndjson), or CEF and syslog lines (text/plain). Each record's outcome is in
    `results`; 422 only when no record could be stored."""
    result = service.ingest(_bearer(), request.content_type, _body(), source=query.source,
                            sender=request.remote_addr)
    return result.as_json(), 202


READ_CHUNK = 64 * 1024


def _body():
    """The raw body, read to its end or one byte past the limit: a chunked upload (no
    Content-Length) arrives in pieces, so one read could stop short and cut it; over the
    limit the answer is 413, never a cut body."""
    limit, pieces, size = service.max_bytes(), [], 0
    while size <= limit:
        piece = request.stream.read(min(READ_CHUNK, limit + 1 - size))
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        size += len(piece)
    raise PayloadTooLarge("The body is larger than the alert ingest accepts.",
                          {"max_bytes": limit})


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
    time_source: str = Field(description="The field that gave occurred_at: rt, end, start, "
                             "FTNTFGTeventtime, syslog_header, received, timestamp, ...")
    users: list[str]


class AlertDetail(AlertOut):
    samples: list[str] = Field(description="The newest raw records (ALERT_SAMPLES), oldest "
                               "first")


class AlertPath(BaseModel):
    alert_id: Id


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
            "incident_id": alert.incident_id, "incident_reference": row.incident_reference,
            "time_source": alert.time_source or "", "users": alert.users or []}


@bp.get("/alerts", tags=[TAG], responses={200: AlertPage})
def list_alerts_endpoint(query: AlertListQuery):
    """Alerts you may see, newest first, filtered, a page at a time (follow next_cursor)."""
    limit = min(query.limit, current_app.config["API_PAGE_SIZE_MAX"])
    page = list_alerts(g.api_user, query.model_dump(), cursor=query.cursor, limit=limit)
    return {"items": [alert_out(row) for row in page.items], "next_cursor": page.next_cursor}


@bp.get("/alerts/<int:alert_id>", tags=[TAG], responses={200: AlertDetail})
def get_alert(path: AlertPath):
    """One alert you may see, with the newest raw records it was seen in (samples)."""
    row = alert_detail(g.api_user, path.alert_id)
    return {**alert_out(row), "samples": row.Alert.samples or [row.Alert.raw]}


class AlertPolicyIn(Strict):
    exclude_groups: list[str] | None = Field(
        None, max_length=100, description="Rule groups whose alerts open no incident "
        "(default: sca, policy_monitoring, windows_application); [] excludes none")
    exclude_levels: list[int] | None = Field(None, max_length=17,
                                             description="Wazuh levels 0-16 that open none")
    wazuh_levels: dict[str, Severity] | None = Field(
        None, description='Severity per Wazuh level instead of the table, e.g. {"9": "medium"}')


class AlertPolicyBody(Strict):
    alert_policy: AlertPolicyIn | None = Field(description="null: back to the defaults")


class AlertPolicyOut(BaseModel):
    contract_id: int
    alert_policy: dict | None


class ContractAlertPath(BaseModel):
    contract_id: Id


@bp.put("/contracts/<int:contract_id>/alert-policy", tags=[TAG],
        responses={200: AlertPolicyOut})
def put_alert_policy(path: ContractAlertPath, body: AlertPolicyBody):
    """Set a contract's alert noise policy (admins): excluded rule groups and levels, Wazuh
    level overrides; only the keys sent are stored, the defaults apply to the others."""
    policy = None if body.alert_policy is None else body.alert_policy.model_dump(
        exclude_none=True)
    contract = set_alert_policy(g.api_user, path.contract_id, policy)
    return {"contract_id": contract.id, "alert_policy": contract.alert_policy}
