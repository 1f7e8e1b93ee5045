"""Who a sender is: an organization's user, or an address or domain registered on an
organization (`flask org domain add ORG example.co.jp`)."""

from sqlalchemy import func, select

from app import access
from app.domain.mail.rules import address_domain
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import MailMessage, Organization, OrganizationDomain, User
from app.services import admin_log

DOMAIN_MAX = 253


def organization_for_sender(address):
    """The organization a sender belongs to, or None: a user's address first, then an
    address registered on an organization, then the address's domain (one query)."""
    organization_id = organization_id_for_sender(address)
    return db.session.get(Organization, organization_id) if organization_id else None


def organization_id_for_sender(address):
    address = (address or "").strip().lower()
    if not address:
        return None
    by_user = select(User.organization_id).where(
        func.lower(User.email) == address, User.active,
        User.organization_id.is_not(None)).limit(1).scalar_subquery()

    def registered(pattern):
        return select(OrganizationDomain.organization_id).where(
            OrganizationDomain.domain == pattern).scalar_subquery()

    return db.session.scalar(select(func.coalesce(
        by_user, registered(address), registered(address_domain(address)))))


def known_for_incident(address, incident):
    """True when the address may write into the incident's conversation: it belongs to the
    incident's organization, reported it, or already wrote or was written to about it."""
    address = (address or "").strip().lower()
    if not address:
        return False
    organization_id = organization_id_for_sender(address)
    if organization_id is not None and organization_id == incident.organization_id:
        return True
    if (incident.reporter_email or "").lower() == address:
        return True
    return db.session.scalar(select(func.count(MailMessage.id)).where(
        MailMessage.incident_id == incident.id,
        (MailMessage.from_address == address) | (MailMessage.to_address == address))) > 0


def normalized_pattern(value):
    """A domain ("example.co.jp") or one address ("boss@example.co.jp"), lower case."""
    pattern = (value or "").strip().lower().lstrip("@")
    local, at, domain = pattern.rpartition("@")
    ok = domain and "." in domain and len(pattern) <= DOMAIN_MAX and not any(
        ch.isspace() or ch in "<>,;\"'()[]\\/" for ch in pattern) and (not at or local)
    if not ok:
        raise InvalidInput("Give a mail domain such as example.co.jp, or one address.",
                           {"field": "domain", "reason": "bad_domain"})
    return pattern


def add_domain(organization_id, value, actor, now=None):
    """Register a domain (or one address) on an organization; committed."""
    access.require(actor, "org_domains.manage")
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("Organization not found.")
    entry = _register(organization, value)
    admin_log.record(actor, "organization_domain", "created", entry, now=now)
    db.session.commit()
    return entry


def registered_entry(pattern):
    """The OrganizationDomain row of a normalized domain or address, or None."""
    return db.session.scalars(select(OrganizationDomain).where(
        OrganizationDomain.domain == pattern)).first()


def _register(organization, value):
    pattern = normalized_pattern(value)
    existing = registered_entry(pattern)
    if existing is not None and existing.organization_id != organization.id:
        raise Conflict(f"{pattern} is already registered on another organization.",
                       {"field": "domain", "reason": "taken"})
    if existing is not None:
        return existing
    entry = OrganizationDomain(organization_id=organization.id, domain=pattern)
    db.session.add(entry)
    db.session.flush()
    return entry


def register_for_triage(organization, value):
    """The desk registers a sender's address or domain while assigning a mail (no commit)."""
    return _register(organization, value)


def remove_domain(domain_id, actor):
    access.require(actor, "org_domains.manage")
    entry = db.session.get(OrganizationDomain, domain_id)
    if entry is None:
        raise NotFound("Domain not found.")
    admin_log.record(actor, "organization_domain", "deleted", entry,
                     before=admin_log.snapshot(entry))
    db.session.delete(entry)
    db.session.commit()


def list_domains(organization_id=None):
    query = select(OrganizationDomain).order_by(OrganizationDomain.domain)
    if organization_id is not None:
        query = query.where(OrganizationDomain.organization_id == organization_id)
    return db.session.scalars(query).all()
