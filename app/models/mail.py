"""The e-mail channel: mail received from the desk's mailbox and sent from incidents, and
the domains that tell which organization a sender belongs to."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.domain.timeutil import utcnow
from app.extensions import db

DIRECTIONS = ("in", "out")
# in: incident (opened one), message (on an incident), unmatched (waits for the desk),
#     refused (kept with its reason), discarded (the desk called it spam, with a reason);
# out: queued (in the outbox; its Notification says what became of it).
STATUSES = ("incident", "message", "unmatched", "refused", "discarded", "queued")
KINDS = ("customer", "reply", "ack")


class OrganizationDomain(db.Model):
    """A mail domain of an organization: its senders open incidents for it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization = relationship("Organization")


class MailMessage(db.Model):
    """One mail in or out. A received one is keyed by where it was read (mailbox,
    UIDVALIDITY, UID) and by its Message-ID, so it is processed exactly once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(10), default="customer")
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(500), default="")
    mailbox: Mapped[str | None] = mapped_column(String(300))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(500), default="")
    raw_sha256: Mapped[str] = mapped_column(String(64), default="")
    from_address: Mapped[str] = mapped_column(String(254), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to_address: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    # SPF/DKIM/DMARC failures the receiving server reported ("" when none).
    auth_failures: Mapped[str] = mapped_column(String(200), default="")
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{filename, content_type, size, sha256, evidence_id, quarantine, forwarded_headers}]
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    raw: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))
    decided_by_label: Mapped[str] = mapped_column(String(254), default="")
    decided_at: Mapped[datetime | None] = mapped_column()

    incident = relationship("Incident")
    notification = relationship("Notification")

    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_mail_message_uid"),
        Index("ix_mail_message_message_id", "message_id"),
        Index("ix_mail_message_status_id", "status", "id"),
        Index("ix_mail_message_incident_id", "incident_id", "id"),
        Index("ix_mail_message_ack", "to_address", "kind", "received_at"),
    )
