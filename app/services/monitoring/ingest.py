"""Alert ingest: per-organization keys, parsing, deduplication and the alert policy.

Deduplication has a time window, so no unique index can enforce it (the same dedup key is
legitimately stored again once the window has passed). On PostgreSQL a batch therefore
locks its organization's row (SELECT ... FOR UPDATE) first: concurrent senders for one
organization take turns, and each sees the alerts the others committed. Senders for other
organizations are not held up. SQLite serializes writers on its own (every transaction
begins IMMEDIATE, app/__init__.py).

A batch is one transaction and one commit: one SELECT finds the recent twins of all its
records, the new alerts are inserted together, and the incidents the severity policy asks
for (with their desk pages) are opened before the commit. So an alert never exists without
the incident its policy gives it, and a concurrent sender, waiting on the lock, finds the
alert with its incident already set: an incident is never doubled.
"""

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta

from flask import current_app
from sqlalchemy import String, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import load_only, selectinload

from app.domain.alerts.normalized import AlertFormatError, Context
from app.domain.alerts.parsers import SOURCES, dedup_key, parse_lines, parse_payload
from app.domain.safetext import escaped
from app.domain.timeutil import to_utc_naive, utcnow
from app.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, Unauthorized
from app.extensions import db
from app.models import Alert, IngestKey, Organization, RejectedPayload
from app.services import admin_log
from app.services.monitoring.policy import alert_policy
from app.services.monitoring.storms import open_incidents
from app.services.transaction import retry_on_conflict

KEY_PREFIX = "kki_"
PREFIX_LENGTH = 12  # "kki_" and 8 characters: enough to name a key, useless to guess it
KEPT_BODY_BYTES = 64 * 1024
KEYS_PER_SELECT = 1000  # SQLite: dedup keys per IN list (PostgreSQL takes one array)


@dataclass
class IngestResult:
    """What a batch did: each record's alert (new or counted) and the incidents it opened.

    The answer is taken before the commit, which expires the rows: reading them back after
    it would cost one SELECT per alert.
    """

    alerts: list = field(default_factory=list)  # {"id", "count", "incident_id", "new"}
    incidents_created: int = 0
    # Every record in input order: {"line", "outcome", "reason", "alert_id"}.
    results: list = field(default_factory=list)

    def as_json(self):
        """The 202 body of POST /api/v1/alerts."""
        return {"alerts": self.alerts, "incidents_created": self.incidents_created,
                "results": self.results}


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


def create_ingest_key(organization, now=None, *, actor=None):
    """A new key for the organization's sensors; the plain key is returned once, never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = IngestKey(organization_id=organization.id, key_hash=_hash(key),
                    prefix=key[:PREFIX_LENGTH], created_at=now or utcnow())
    db.session.add(row)
    admin_log.record(actor, "ingest_key", "created", row, now=now)
    db.session.commit()
    return key


def list_ingest_keys(organization_id):
    """An organization's keys, newest first, the revoked ones too, with their senders
    (the admin page lists them: one query for all, not one per key)."""
    return db.session.scalars(select(IngestKey).where(
        IngestKey.organization_id == organization_id)
        .options(selectinload(IngestKey.senders))
        .order_by(IngestKey.created_at.desc(), IngestKey.id.desc())).all()


def revoke_ingest_key(prefix, now=None, *, actor=None):
    """Revoke the (unrevoked) keys starting with `prefix`; how many were revoked."""
    keys = db.session.scalars(select(IngestKey).where(
        IngestKey.prefix == prefix[:PREFIX_LENGTH], IngestKey.revoked_at.is_(None))).all()
    keys = keys if len(prefix) >= PREFIX_LENGTH else []  # a short prefix could name many
    if not keys:
        raise NotFound("No active ingest key has that prefix.", {"prefix": prefix})
    return _revoke(keys, now, actor)


def find_ingest_key(key_id):
    """One key by id; NotFound otherwise."""
    key = db.session.get(IngestKey, key_id)
    if key is None:
        raise NotFound("The ingest key is unknown.")
    return key


def revoke_one_ingest_key(key, now=None, *, actor=None):
    """Revoke one key (the admin page); a revoked key keeps its first revocation: 409."""
    if key.revoked_at is not None:
        raise Conflict("The ingest key was already revoked.", {"prefix": key.prefix})
    return _revoke([key], now, actor)


def _revoke(keys, now, actor):
    """Mark the keys revoked (sensors sending with them get 401 from now on); how many."""
    for key in keys:
        before = admin_log.snapshot(key)
        key.revoked_at = now or utcnow()
        admin_log.record(actor, "ingest_key", "updated", key, before, now=now)
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


def ingest(plain_key, content_type, body, now=None, *, source=None, sender=None):
    """Authenticate, parse, deduplicate and apply the alert policy to one request body.

    source names the adapter (SOURCES; None: each record's shape decides), sender is the
    client's address (the last fallback for the sensor). Each record's outcome is in the
    result; InvalidInput (422, the body kept) only when no record could be stored."""
    now = now or utcnow()
    key = _key_for(plain_key)
    if len(body) > max_bytes():
        raise PayloadTooLarge("The body is larger than the alert ingest accepts.",
                              {"max_bytes": max_bytes(), "size": len(body)})
    if source is not None and source not in SOURCES:
        raise InvalidInput("The source is not one of the adapters.",
                           {"field": "source", "allowed": list(SOURCES)})
    context = Context(now.replace(tzinfo=UTC), _default_sensor(key, sender), source)
    try:
        outcomes = parse_payload(content_type, body, context)
    except AlertFormatError as error:
        _reject(key.organization_id, content_type, body, error.reason, now)
    if not any(outcome.alert for outcome in outcomes):
        first = outcomes[0]
        _reject(key.organization_id, content_type, body, f"line {first.line}: {first.reason}",
                now, [_refused_result(outcome) for outcome in outcomes])
    return _store(key.organization_id, outcomes, content_type, now)


def ingest_lines(key, lines, *, sender, now=None):
    """Syslog: each of lines is one whole message as received (header and body, decoded
    text) from sender (its address), already bound to key by the receiver. One batch,
    through the same parsing, dedup and policy as the HTTP endpoint; a line that cannot be
    read is a refused outcome, kept on the refused page, never an error for the batch."""
    now = now or utcnow()
    context = Context(now.replace(tzinfo=UTC), _default_sensor(key, sender))
    outcomes = parse_lines(lines, context)
    return _store(key.organization_id, outcomes, f"syslog from {sender}"[:200], now)


def _default_sensor(key, sender):
    """The sensor of records that name none: the key's sensor name when one is set, else
    the sender's address, else the organization's code (IngestKey.default_sensor)."""
    for candidate in (key.sensor, sender):
        if candidate and str(candidate).strip():
            return str(candidate).strip()
    return key.default_sensor


def recent_refusals(limit):
    """The newest refused payloads with their organization's name (staff pages)."""
    return db.session.execute(
        select(RejectedPayload, Organization.name.label("organization_name"))
        .outerjoin(Organization, Organization.id == RejectedPayload.organization_id)
        .order_by(RejectedPayload.id.desc()).limit(limit)).all()


def _reject(organization_id, content_type, body, reason, now, results=None):
    """Keep the refused body whole for inspection (its own commit), then answer 422."""
    db.session.rollback()
    db.session.add(RejectedPayload(
        organization_id=organization_id, received_at=now,
        content_type=escaped((content_type or "")[:200]), size=len(body),
        reason=escaped(reason[:500]),  # kept escaped: PostgreSQL's text holds no NUL
        body=escaped(body[:KEPT_BODY_BYTES].decode("utf-8", errors="replace"))))
    db.session.commit()
    details = {"reason": reason}
    if results is not None:
        details["results"] = results
    raise InvalidInput(f"The payload was refused: {reason}", details)


def _refused_result(outcome):
    return {"line": outcome.line, "outcome": "refused", "reason": outcome.reason,
            "alert_id": None}


def _kept_refusal(organization_id, outcome, content_type, now):
    """A refused record of a batch whose other records are stored, with its line."""
    text = outcome.text or ""
    return RejectedPayload(
        organization_id=organization_id, received_at=now, line=outcome.line,
        content_type=escaped((content_type or "")[:200]),
        size=len(text.encode("utf-8", errors="surrogatepass")),
        reason=escaped(f"line {outcome.line}: {outcome.reason}"[:500]),
        body=escaped(text[:KEPT_BODY_BYTES]))


def _store(organization_id, outcomes, content_type, now):
    """Record the batch; again from the start when a desk user's change to a burst's
    incident got in first (the batch holds its organization's lock, so only that can)."""
    return retry_on_conflict(lambda: _record(organization_id, outcomes, content_type, now))


def _lock_organization(organization_id):
    """Serialize concurrent batches of one organization (see the module docstring)."""
    query = select(Organization.id).where(Organization.id == organization_id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    db.session.execute(query)


def _record(organization_id, outcomes, content_type, now):
    """Count each alert on its recent twin or store it as new, keep the refused records, open
    the policy's incidents; one commit for the batch."""
    _lock_organization(organization_id)
    policy = alert_policy(organization_id, now)
    alerts = {index: _with_policy(outcome.alert, policy)
              for index, outcome in enumerate(outcomes) if outcome.alert}
    keys = {index: dedup_key(organization_id, alert) for index, alert in alerts.items()}
    recent = _recent_alerts(organization_id, set(keys.values()), now)
    entries, new_alerts, candidates = [], [], []
    for index, outcome in enumerate(outcomes):
        if index not in alerts:
            db.session.add(_kept_refusal(organization_id, outcome, content_type, now))
            entries.append((outcome, None, False))
            continue
        normalized, key = alerts[index], keys[index]
        alert = recent.get(key)
        new = alert is None
        if new:  # later repeats in this batch count on it
            alert = recent[key] = _new_alert(organization_id, normalized, key, now)
            new_alerts.append(alert)
            if policy.opens_incident(normalized, alert.severity):
                candidates.append(alert)
        else:
            _count_repeat(alert, normalized, now)
        entries.append((outcome, alert, new))
    _insert(new_alerts)
    opened = open_incidents(organization_id, candidates, now) if candidates else 0
    result = _result(entries, opened)
    db.session.commit()
    return result


def _with_policy(alert, policy):
    """The alert with the severity the organization's policy gives it (Wazuh overrides)."""
    severity = policy.severity_of(alert)
    return alert if severity == alert.severity else replace(alert, severity=severity)


def _count_repeat(alert, normalized, now):
    """A repeat: one more sighting, and its raw record among the newest samples."""
    alert.count += 1
    alert.last_seen_at = now
    alert.samples = [*(alert.samples or []), normalized.raw][-_samples_kept():]


def _samples_kept():
    return max(1, int(_setting("ALERT_SAMPLES")))


def _result(entries, opened):
    """The answer, taken before the commit expires the rows."""
    stored, results = [], []
    for outcome, alert, new in entries:
        if alert is None:
            results.append(_refused_result(outcome))
            continue
        stored.append({"id": alert.id, "count": alert.count, "incident_id": alert.incident_id,
                       "new": new})
        results.append({"line": outcome.line, "outcome": "accepted" if new else "repeat",
                        "reason": "", "alert_id": alert.id})
    return IngestResult(stored, opened, results)


def _insert(new_alerts):
    """Insert the batch's new alerts together; their ids name the desk pages.

    On PostgreSQL the ids are drawn from the sequence first (one query), so the rows go as
    one prepared INSERT executed for many rows (psycopg's pipeline) rather than as a
    multi-row INSERT ... RETURNING whose long text is parsed anew for every batch.
    """
    if new_alerts and db.engine.dialect.name == "postgresql":
        ids = db.session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence('alert', 'id')) "
            "FROM generate_series(1, :n)"), {"n": len(new_alerts)}).all()
        for alert, alert_id in zip(new_alerts, ids, strict=True):
            alert.id = alert_id
    db.session.add_all(new_alerts)
    db.session.flush()


def _recent_alerts(organization_id, keys, now):
    """{dedup key: the latest alert seen within the window} for the keys, in one SELECT."""
    since = now - timedelta(minutes=int(_setting("ALERT_DEDUP_WINDOW_MINUTES")))
    found = {}
    for one_of_keys in _key_conditions(sorted(keys)):
        rows = db.session.scalars(select(Alert).options(load_only(
            Alert.id, Alert.dedup_key, Alert.count, Alert.last_seen_at, Alert.incident_id,
            Alert.samples))
            .where(Alert.organization_id == organization_id, one_of_keys,
                   Alert.last_seen_at >= since)
            .order_by(Alert.last_seen_at.desc(), Alert.id.desc()))
        for row in rows:
            found.setdefault(row.dedup_key, row)
    return found


def _key_conditions(keys):
    """Conditions 'dedup_key is one of keys': on PostgreSQL one `= ANY(array)` (a single
    parameter, so the statement text is the same for every batch and stays prepared);
    elsewhere IN lists of at most KEYS_PER_SELECT keys."""
    if db.engine.dialect.name == "postgresql":
        return [Alert.dedup_key == any_(bindparam("keys", keys, type_=ARRAY(String)))]
    return [Alert.dedup_key.in_(keys[start:start + KEYS_PER_SELECT])
            for start in range(0, len(keys), KEYS_PER_SELECT)]


def _new_alert(organization_id, normalized, key, now):
    """An Alert row from a NormalizedAlert."""
    return Alert(
        organization_id=organization_id, source=normalized.source[:32],
        sensor=normalized.sensor[:200], severity=normalized.severity,
        rule_id=normalized.rule_id[:200], rule_name=normalized.rule_name[:500],
        hosts=list(normalized.hosts), addresses=list(normalized.addresses),
        users=list(normalized.users), occurred_at=to_utc_naive(normalized.occurred_at),
        time_source=normalized.time_source[:32], first_seen_at=now, last_seen_at=now,
        count=1, dedup_key=key, raw=normalized.raw, samples=[normalized.raw])
