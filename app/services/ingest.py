"""Alert ingest: per-organization keys, parsing, deduplication and the severity policy.

Deduplication has a time window, so no unique index can enforce it (the same dedup key is
legitimately stored again once the window has passed). On PostgreSQL a batch therefore
locks its organization's row (SELECT ... FOR UPDATE) first: concurrent senders for one
organization take turns, and each sees the alerts the others committed. Senders for other
organizations are not held up. SQLite serializes writers on its own (every transaction
begins IMMEDIATE, app/__init__.py).

report_incident() commits, so a batch is two steps: the alerts are committed first (the
lock is released there), then every new alert above the severity policy gets its incident
and the desk is paged. A repeat arriving in between counts on the committed alert; only
the sender that created an alert creates its incident, so an incident is never doubled.
"""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.alerts.normalized import AlertFormatError
from app.alerts.parsers import dedup_key, parse_payload
from app.errors import InvalidInput, NotFound, PayloadTooLarge, Unauthorized
from app.extensions import db
from app.models import Alert, IngestKey, Organization, RejectedPayload
from app.services.intake import IntakeRequest, report_incident
from app.timeutil import to_utc_naive, utcnow
from notifications.outbox import page_role

KEY_PREFIX = "kki_"
PREFIX_LENGTH = 12  # "kki_" and 8 characters: enough to name a key, useless to guess it
KEPT_BODY_BYTES = 64 * 1024


@dataclass
class IngestResult:
    """What a batch did: each record's alert (new or counted) and the incidents it opened."""

    entries: list = field(default_factory=list)  # (alert, new) per record, in order
    incidents_created: int = 0

    def as_json(self):
        """The 202 body of POST /api/v1/alerts."""
        return {"alerts": [{"id": a.id, "count": a.count, "incident_id": a.incident_id,
                            "new": new} for a, new in self.entries],
                "incidents_created": self.incidents_created}


def _hash(key):
    """sha256 hex of a plain key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _setting(name):
    """A setting of app/config.py (documented in the README)."""
    return current_app.config[name]


def max_bytes():
    """The largest body accepted (ALERT_MAX_BYTES)."""
    return int(_setting("ALERT_MAX_BYTES"))


def find_organization(reference):
    """An organization by id or code; NotFound otherwise."""
    query = select(Organization).where(Organization.code == str(reference))
    organization = db.session.scalars(query).first()
    if organization is None and str(reference).isdigit():
        organization = db.session.get(Organization, int(reference))
    if organization is None:
        raise NotFound("The organization is unknown.", {"organization": str(reference)})
    return organization


def create_ingest_key(organization, now=None):
    """A new key for the organization's sensors; the plain key is returned once, never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    db.session.add(IngestKey(organization_id=organization.id, key_hash=_hash(key),
                             prefix=key[:PREFIX_LENGTH], created_at=now or utcnow()))
    db.session.commit()
    return key


def revoke_ingest_key(prefix, now=None):
    """Revoke the (unrevoked) keys starting with `prefix`; how many were revoked."""
    keys = db.session.scalars(select(IngestKey).where(
        IngestKey.prefix == prefix[:PREFIX_LENGTH], IngestKey.revoked_at.is_(None))).all()
    keys = keys if len(prefix) >= PREFIX_LENGTH else []  # a short prefix could name many
    if not keys:
        raise NotFound("No active ingest key has that prefix.", {"prefix": prefix})
    for key in keys:
        key.revoked_at = now or utcnow()
    db.session.commit()
    return len(keys)


def _key_for(plain_key):
    """The active IngestKey for a plain key; Unauthorized for unknown or revoked ones."""
    key = None
    if plain_key and plain_key.startswith(KEY_PREFIX):
        key = db.session.scalars(select(IngestKey).where(
            IngestKey.key_hash == _hash(plain_key))).first()
    if key is None or key.revoked_at is not None:
        raise Unauthorized("Send a valid ingest key as the bearer token.")
    return key


def ingest(plain_key, content_type, body, now=None):
    """Authenticate, parse, deduplicate and apply the severity policy to one request body."""
    now = now or utcnow()
    key = _key_for(plain_key)
    if len(body) > max_bytes():
        raise PayloadTooLarge("The body is larger than the alert ingest accepts.",
                              {"max_bytes": max_bytes(), "size": len(body)})
    try:
        alerts = parse_payload(content_type, body)
    except AlertFormatError as error:
        _reject(key.organization_id, content_type, body, error, now)
    result = _record(key.organization_id, alerts, now)
    _open_incidents(result, now)
    return result


def _reject(organization_id, content_type, body, error, now):
    """Keep the refused body for inspection (its own commit), then answer 422."""
    db.session.rollback()
    db.session.add(RejectedPayload(
        organization_id=organization_id, received_at=now, content_type=(content_type or "")[:200],
        size=len(body), reason=str(error)[:500],
        body=body[:KEPT_BODY_BYTES].decode("utf-8", errors="replace")))
    db.session.commit()
    raise InvalidInput(f"The payload was refused: {error}",
                       {"index": error.index, "reason": error.reason})


def _lock_organization(organization_id):
    """Serialize concurrent batches of one organization (see the module docstring)."""
    query = select(Organization.id).where(Organization.id == organization_id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    db.session.execute(query)


def _record(organization_id, alerts, now):
    """Count each alert on its recent twin or store it as new; one commit for the batch."""
    _lock_organization(organization_id)
    since = now - timedelta(minutes=int(_setting("ALERT_DEDUP_WINDOW_MINUTES")))
    result = IngestResult()
    for normalized in alerts:
        key = dedup_key(organization_id, normalized)
        alert = db.session.scalars(select(Alert).where(
            Alert.organization_id == organization_id, Alert.dedup_key == key,
            Alert.last_seen_at >= since).order_by(Alert.last_seen_at.desc(), Alert.id.desc())
        ).first()
        if alert is not None:
            alert.count += 1
            alert.last_seen_at = now
            result.entries.append((alert, False))
            continue
        alert = _new_alert(organization_id, normalized, key, now)
        db.session.add(alert)
        db.session.flush()  # the next record of the batch must see it
        result.entries.append((alert, True))
    db.session.commit()
    return result


def _new_alert(organization_id, normalized, key, now):
    """An Alert row from a NormalizedAlert."""
    return Alert(
        organization_id=organization_id, source=normalized.source[:32],
        sensor=normalized.sensor[:200], severity=normalized.severity,
        rule_id=normalized.rule_id[:200], rule_name=normalized.rule_name[:500],
        hosts=list(normalized.hosts), addresses=list(normalized.addresses),
        occurred_at=to_utc_naive(normalized.occurred_at), first_seen_at=now,
        last_seen_at=now, count=1, dedup_key=key, raw=normalized.raw)


def _open_incidents(result, now):
    """An incident and a desk page for every new alert the severity policy selects."""
    severities = tuple(_setting("ALERT_INCIDENT_SEVERITIES"))
    for alert, new in result.entries:
        if new and alert.incident_id is None and alert.severity in severities:
            incident = report_incident(_intake_for(alert), actor=None,
                                       actor_label="monitoring", now=now)
            alert.incident_id = incident.id
            _page_desk(incident, alert, now)
            db.session.commit()
            result.incidents_created += 1


def _host(alert):
    """The host an alert is about, for summaries (an address when no host is named)."""
    return next(iter(alert.hosts or alert.addresses or []), "")


def _intake_for(alert):
    """The intake request a monitoring alert becomes."""
    host = _host(alert)
    summary = f"{alert.rule_name} ({host})" if host else alert.rule_name
    return IntakeRequest(
        organization_id=alert.organization_id, channel="monitoring", category="suspicious_traffic",
        severity=alert.severity, summary=summary[:200], discovery_source="alert",
        occurred_at=alert.occurred_at, discovered_at=alert.first_seen_at)


def _page_desk(incident, alert, now):
    """Page every active desk user at once (SMS where they have a phone, and e-mail)."""
    context = {"reference": incident.reference, "organization": incident.organization.name,
               "severity": alert.severity, "rule_name": alert.rule_name, "host": _host(alert),
               "sensor": alert.sensor, "url": current_app.config["PUBLIC_BASE_URL"].rstrip("/")
               + f"/desk/incidents/{incident.id}"}
    page_role("desk", "desk_alert", context, incident=incident, key=f"desk_alert:{alert.id}",
              now=now)
