"""Reading incidents as a given user may see them (tenant scoping lives here only)."""

import base64
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload

from app.domain.alerts.normalized import SEVERITIES as ALERT_SEVERITIES
from app.domain.timeutil import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import (
    Alert,
    Claim,
    Dispatch,
    Incident,
    InsurancePolicy,
    InsurerNotice,
    Notification,
    Organization,
)
from app.models.people import STAFF_ROLES
from app.services.actors import require_role
from app.services.directory import organizations
from app.services.incidents import sla

FILTERS = ("state", "organization_id", "category", "severity", "channel")
SLA_FILTERS = ("breached", "near")  # the `sla` filter: the worst running clock's status
# A technician's declined, expired or withdrawn offers give no access to the incident.
LIVE_DISPATCH = ("offered", "accepted", "en_route", "on_site", "completed")


def scope_incidents(stmt, user):
    """Restrict an incident query to what `user` may see."""
    if user.role == "customer":
        return stmt.where(Incident.organization_id == user.organization_id)
    if user.role == "technician":  # incidents offered to them now, or their visits
        live = select(Dispatch.incident_id).where(
            Dispatch.technician_id == user.technician_id, Dispatch.state.in_(LIVE_DISPATCH))
        return stmt.where(Incident.id.in_(live))
    if user.role == "insurer":  # incidents it was given notice of, or claimed under its policy
        noticed = select(InsurerNotice.incident_id).where(
            InsurerNotice.insurer_id == user.insurer_id)
        claimed = select(Claim.incident_id).join(InsurancePolicy).where(
            InsurancePolicy.insurer_id == user.insurer_id)
        return stmt.where(Incident.id.in_(noticed.union(claimed)))
    return stmt


def get_incident_for(user, incident_id):
    """The incident if `user` may see it, else NotFound (never a hint that it exists)."""
    stmt = scope_incidents(select(Incident).where(Incident.id == incident_id), user)
    incident = db.session.scalars(stmt).first()
    if incident is None:
        raise NotFound("Incident not found.")
    return incident


def get_dispatch_visible_to(user, dispatch_id):
    """A dispatch the user may see: a technician their own, others through its incident."""
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None or (user.role == "technician"
                            and dispatch.technician_id != user.technician_id):
        raise NotFound("Dispatch not found.")
    if user.role != "technician":
        get_incident_for(user, dispatch.incident_id)  # 404 unless the incident is visible
    return dispatch


def notifications_by_dispatch(dispatches):
    """The outbox rows of each dispatch, oldest first: {dispatch id: [Notification]}."""
    ids = [d.id for d in dispatches]
    rows = db.session.scalars(select(Notification).where(
        Notification.dispatch_id.in_(ids)).order_by(Notification.id)).all() if ids else []
    grouped = {}
    for row in rows:
        grouped.setdefault(row.dispatch_id, []).append(row)
    return grouped


def scope_organizations(stmt, user):
    """Restrict an organization query to what `user` may see: staff every organization, a
    customer its own, a technician or insurer those of the incidents it may see."""
    if user.role == "customer":
        return stmt.where(Organization.id == user.organization_id)
    if user.role in ("technician", "insurer"):
        return stmt.where(Organization.id.in_(
            scope_incidents(select(Incident.organization_id), user)))
    return stmt


def visible_organizations(user):
    """Organizations `user` may see, by name."""
    return db.session.scalars(scope_organizations(
        select(Organization).order_by(Organization.name), user)).all()


def organization_choices(user):
    """(id, code, name) rows of the organizations `user` may see, by name: what a picker
    shows, without loading whole organizations (a provider serves thousands)."""
    return db.session.execute(scope_organizations(
        select(Organization.id, Organization.code, Organization.name)
        .order_by(Organization.name), user)).all()


def get_organization_for(user, organization_id):
    """The organization if `user` may see it, else NotFound (never a hint that it exists)."""
    organization = db.session.scalars(scope_organizations(
        select(Organization).where(Organization.id == organization_id), user)).first()
    if organization is None:
        raise NotFound("Organization not found.")
    return organization


@dataclass
class Page:
    """One page of a newest-first list and the cursor of the next page."""

    items: list
    next_cursor: str | None


def encode_cursor(last_id):
    """An opaque cursor for the page after the incident `last_id`."""
    return base64.urlsafe_b64encode(f"i:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The incident id a cursor points after; InvalidInput for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "i":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid.", {"field": "cursor"}) from exc


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
    stmt = scope_incidents(stmt, user)
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
ALERT_READERS = ("customer", *STAFF_ROLES)


def scope_alerts(stmt, user):
    """Restrict an alert query to what `user` may see: staff every alert, a customer its
    organization's; any other role none (403)."""
    require_role(user, ALERT_READERS, "see alerts")
    if user.role == "customer":
        return stmt.where(Alert.organization_id == user.organization_id)
    return stmt


def list_alerts(user, filters, cursor=None, limit=50):
    """Newest alerts first (keyset on id: the order of first sighting) matching `filters`
    (and `organization`, a search by code or name); each row is (Alert, organization_name,
    incident_reference or None), in one statement."""
    if filters.get("severity") not in (None, "", *ALERT_SEVERITIES):
        raise InvalidInput("The severity is critical, high, medium or low.",
                           {"field": "severity", "allowed": list(ALERT_SEVERITIES)})
    stmt = scope_alerts(select(Alert, Organization.name.label("organization_name"),
                               Incident.reference.label("incident_reference"))
                        .join(Organization, Organization.id == Alert.organization_id)
                        .outerjoin(Incident, Incident.id == Alert.incident_id), user)
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
