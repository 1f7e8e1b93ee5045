"""The desk's unmatched mail: mail from unknown senders, with failed authentication, or
naming an incident its sender is not known for, and refused mail (shown with its reason).

The operator assigns a mail to an organization (an incident opens, optionally with the
sender's address or domain registered), attaches it to an existing incident, or
discards it as spam with a reason. Each decision is recorded on the mail.
"""

from sqlalchemy import select

from app import access
from app.domain.mail.parse import parse_mail
from app.domain.mail.rules import address_domain
from app.domain.timeutil import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import MailMessage
from app.services.actors import label_for
from app.services.directory.organizations import known_organization
from app.services.mail.conversation import record_on_incident
from app.services.mail.receive import open_incident
from app.services.mail.senders import register_for_triage
from app.services.transaction import commit_or_conflict

LISTED = ("unmatched", "refused")
REGISTER = ("", "address", "domain")
REASON_MAX = 500
PAGE = 200


def list_mail(actor, status="unmatched", limit=PAGE):
    """Mail waiting for the desk (or refused), newest first."""
    access.require(actor, "mail.triage")
    if status not in LISTED:
        raise InvalidInput(f"The status must be one of: {', '.join(LISTED)}.",
                           {"field": "status"})
    return db.session.scalars(select(MailMessage).where(
        MailMessage.direction == "in", MailMessage.status == status)
        .order_by(MailMessage.id.desc()).limit(limit)).all()


def get_mail(actor, mail_id):
    access.require(actor, "mail.triage")
    row = db.session.get(MailMessage, mail_id)
    if row is None or row.direction != "in":
        raise NotFound("Mail not found.")
    return row


def _waiting(actor, mail_id):
    row = get_mail(actor, mail_id)
    if row.status != "unmatched":
        raise Conflict(f"This mail is no longer waiting (it is {row.status}).",
                       {"reason": "not_unmatched", "status": row.status})
    return row


def _decided(row, actor, now):
    row.decided_by_label = label_for(actor, "")[:254]
    row.decided_at = now


def assign(actor, mail_id, organization_id, register="", now=None):
    """Open an incident for the organization from the mail; committed. `register` adds
    the sender's address or domain to the organization so its next mail is known."""
    now = now or utcnow()
    row = _waiting(actor, mail_id)
    if register not in REGISTER:
        raise InvalidInput("Register the sender's address, its domain, or nothing.",
                           {"field": "register"})
    organization = known_organization(organization_id)
    if register:
        pattern = row.from_address if register == "address" else \
            address_domain(row.from_address)
        register_for_triage(organization, pattern)
    incident = open_incident(row, parse_mail(row.raw or b""), organization, now)
    _decided(row, actor, now)
    commit_or_conflict(incident)
    return row


def attach(actor, mail_id, incident_id, now=None):
    """File the mail as a customer message of an existing incident; committed."""
    now = now or utcnow()
    row = _waiting(actor, mail_id)
    incident = access.get_incident_for(actor, incident_id)
    row.status = "message"
    record_on_incident(row, parse_mail(row.raw or b""), incident, now,
                       actor_label=f"e-mail, attached by {label_for(actor, '')}")
    _decided(row, actor, now)
    commit_or_conflict(incident)
    return row


def discard(actor, mail_id, reason, now=None):
    """Set the mail aside as spam (or otherwise not for the desk), with the reason."""
    now = now or utcnow()
    row = _waiting(actor, mail_id)
    reason = (reason or "").strip()
    if not reason or len(reason) > REASON_MAX:
        raise InvalidInput(f"Give the reason (at most {REASON_MAX} characters).",
                           {"field": "reason"})
    row.status, row.reason = "discarded", reason
    _decided(row, actor, now)
    db.session.commit()
    return row
