"""The administrative change log: one helper every directory, contract, insurer, policy,
technician and ingest-key use case calls in its own transaction, so a change and its record
commit together or not at all; and the admins' list of them, newest first.

Snapshots hold a row's column values; secrets (password, token and key hashes, webhook
secrets) are left out, never written.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import inspect, select

from app import access
from app.domain.timeutil import to_utc_naive, utcnow
from app.errors import InvalidInput
from app.extensions import db
from app.models import AdminChange
from app.services.paging import Page, decode_cursor, encode_cursor

KINDS = ("organization", "organization_phone", "contract", "insurer", "policy",
         "coverage_head", "user", "api_token", "technician", "shift", "ingest_key",
         "organization_domain")
ACTIONS = ("created", "updated", "deleted")
SECRETS = frozenset({"password_hash", "token_hash", "key_hash", "webhook_secret"})
PAGE_SIZE = 50


def _json(value):
    if isinstance(value, datetime):  # as stored: naive UTC
        return to_utc_naive(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(row, **extra):
    """The row's columns as JSON values, secrets left out; `extra` adds derived fields."""
    values = {column.key: _json(getattr(row, column.key))
              for column in inspect(row).mapper.column_attrs if column.key not in SECRETS}
    return values | {name: _json(value) for name, value in extra.items()}


def record(actor, kind, action, row, before=None, *, after=None, now=None):
    """Add the change of `row` to the session (the caller commits). `before` is the
    snapshot taken before an update or delete; `after` defaults to the row now (none
    for a delete). A new row is flushed first, for its id."""
    if kind not in KINDS or action not in ACTIONS:
        raise ValueError(f"unknown admin change {kind}/{action}")
    if inspect(row).identity is None and action != "deleted":
        db.session.flush()
    if after is None and action != "deleted":
        after = snapshot(row)
    change = AdminChange(
        at=to_utc_naive(now or utcnow()), kind=kind, action=action,
        entity_id=row.id, actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or "system", before=before, after=after)
    db.session.add(change)
    return change


def clean_kind(kind):
    """The kind filter, or InvalidInput naming the kinds there are."""
    if kind in (None, ""):
        return None
    if kind not in KINDS:
        raise InvalidInput(f"kind is one of: {', '.join(KINDS)}.", {"field": "kind"})
    return kind


def change_page(actor, *, kind=None, cursor=None, limit=PAGE_SIZE):
    """Admin changes newest first, optionally of one kind; keyset paging by id."""
    access.require(actor, "admin_log.read")
    kind = clean_kind(kind)
    stmt = select(AdminChange).order_by(AdminChange.id.desc()).limit(limit + 1)
    if kind:
        stmt = stmt.where(AdminChange.kind == kind)
    if cursor:
        stmt = stmt.where(AdminChange.id < decode_cursor(cursor))
    rows = db.session.scalars(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if more else None)
