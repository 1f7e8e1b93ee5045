"""Lists of incidents and alerts as a given user may see them (scoped by app/access.py),
a page at a time."""

from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload

from app import access
from app.domain.alerts.normalized import SEVERITIES as ALERT_SEVERITIES
from app.domain.timeutil import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import (
    Alert,
    Incident,
    Notification,
    Organization,
)
from app.services.directory import organizations
from app.services.incidents import sla
from app.services.paging import Page, bounded_id, decode_cursor, encode_cursor

FILTERS = ("state", "organization_id", "category", "severity", "channel")
SLA_FILTERS = ("breached", "near")  # the `sla` filter: the worst running clock's status


def notifications_by_dispatch(dispatches):
    """The outbox rows of each dispatch, oldest first: {dispatch id: [Notification]}."""
    ids = [d.id for d in dispatches]
    rows = db.session.scalars(select(Notification).where(
        Notification.dispatch_id.in_(ids)).order_by(Notification.id)).all() if ids else []
    grouped = {}
    for row in rows:
        grouped.setdefault(row.dispatch_id, []).append(row)
    return grouped


def _sla_filter(stmt, status, now):
    """Keep incidents whose most urgent running SLA clock has `status` (breached, near)."""
    if status in (None, ""):
        return stmt
    if status not in SLA_FILTERS:
        raise InvalidInput("The SLA filter is breached or near.",
                           {"field": "sla", "allowed": list(SLA_FILTERS)})
    return stmt.where(Incident.id.in_(sla.incidents_with_status(status, now or utcnow())))


def _organization_filter(stmt, organization_id, text):
    """Keep the rows whose `organization_id` column is an organization whose code or name
    contains `text` (the lists' search: a provider serves too many for a drop-down)."""
    text = organizations.search_text(text, field="organization")
    if not text:
        return stmt
    return stmt.where(organization_id.in_(
        select(Organization.id).where(organizations.matching(text))))


def _filtered(stmt, user, filters, now):
    """`stmt` (a select from incident) kept to what `user` may see and `filters` ask for.

    The `sla` filter is a subquery on the clocks and `organization` (text) one on the
    organizations, so a page stays one statement; the page's clocks are loaded in one
    more (sla.clocks_by_incident), never one per row.
    """
    stmt = access.scope_incidents(stmt, user)
    bounded_id(filters.get("organization_id"), "organization_id")
    for name in FILTERS:
        value = filters.get(name)
        if value not in (None, ""):
            stmt = stmt.where(getattr(Incident, name) == value)
    stmt = _sla_filter(stmt, filters.get("sla"), now)
    return _organization_filter(stmt, Incident.organization_id, filters.get("organization"))


def list_incidents(user, filters, cursor=None, limit=50, now=None):
    """Newest incidents first matching `filters`, a page at a time (keyset on id)."""
    return incident_page(_filtered(select(Incident), user, filters, now), cursor, limit)


# What the desk's list shows of each incident.
LIST_COLUMNS = (Incident.id, Incident.reference, Incident.state, Incident.category,
                Incident.severity, Incident.channel, Incident.summary, Incident.created_at,
                Organization.name.label("organization_name"))


def list_incident_rows(user, filters, cursor=None, limit=50, now=None):
    """The page of list_incidents as plain rows of LIST_COLUMNS, for a page that only
    shows them: building 50 whole incidents and organizations costs more than the query."""
    stmt = _filtered(select(*LIST_COLUMNS).join(Incident.organization), user, filters, now)
    return _keyset_page(db.session.execute, stmt, cursor, limit)


def incident_page(stmt, cursor, limit):
    """One page of the incidents `stmt` selects, newest first (keyset on id)."""
    # The organization is shown on every row: load it in the same query, not once per row.
    return _keyset_page(db.session.scalars, stmt.options(joinedload(Incident.organization)),
                        cursor, limit)


def _keyset_page(run, stmt, cursor, limit):
    """Page of `run(stmt)` after `cursor`, newest first, and the cursor of the next one."""
    if cursor:
        stmt = stmt.where(Incident.id < decode_cursor(cursor))
    rows = run(stmt.order_by(Incident.id.desc()).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].id) if has_more else None)


# ---------------------------------------------------------------- monitoring alerts

ALERT_FILTERS = ("organization_id", "severity", "source")


def list_alerts(user, filters, cursor=None, limit=50):
    """Newest alerts first (keyset on id: the order of first sighting) matching `filters`
    (and `organization`, a search by code or name); each row is (Alert, organization_name,
    incident_reference or None), in one statement."""
    if filters.get("severity") not in (None, "", *ALERT_SEVERITIES):
        raise InvalidInput("The severity is critical, high, medium or low.",
                           {"field": "severity", "allowed": list(ALERT_SEVERITIES)})
    stmt = access.scope_alerts(select(Alert, Organization.name.label("organization_name"),
                               Incident.reference.label("incident_reference"))
                        .join(Organization, Organization.id == Alert.organization_id)
                        .outerjoin(Incident, Incident.id == Alert.incident_id), user)
    bounded_id(filters.get("organization_id"), "organization_id")
    for name in ALERT_FILTERS:
        value = filters.get(name)
        if value not in (None, ""):
            stmt = stmt.where(getattr(Alert, name) == value)
    stmt = _organization_filter(stmt, Alert.organization_id, filters.get("organization"))
    if cursor:
        stmt = stmt.where(Alert.id < decode_cursor(cursor))
    rows = db.session.execute(stmt.options(defer(Alert.raw))  # raw is for inspection only
                              .order_by(Alert.id.desc()).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].Alert.id) if has_more else None)


def alert_detail(user, alert_id):
    """One alert the user may see (the list's scope), as a row of (Alert, organization_name,
    incident_reference); another organization's alert is the same 404 as a missing one."""
    row = db.session.execute(access.scope_alerts(
        select(Alert, Organization.name.label("organization_name"),
               Incident.reference.label("incident_reference"))
        .join(Organization, Organization.id == Alert.organization_id)
        .outerjoin(Incident, Incident.id == Alert.incident_id)
        .where(Alert.id == alert_id), user)).first()
    if row is None:
        raise NotFound("The alert is unknown.")
    return row
