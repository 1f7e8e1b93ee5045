"""The transactional outbox: one row per message, written in the commit that causes it."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.timeutil import utcnow
from app.extensions import db

CHANNELS = ("sms", "voice", "email", "webhook")
# pending → sending (leased by a worker) → sent → delivered | undelivered;
# a failed send goes back to pending with a later next_attempt_at, or to failed.
STATUSES = ("pending", "sending", "sent", "delivered", "undelivered", "failed", "cancelled")


class Notification(db.Model):
    """A message to send (SMS, voice call or e-mail) and what became of it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(500))  # phone, e-mail or webhook URL
    template: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(5), default="ja")
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # rendered when enqueued
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    provider: Mapped[str] = mapped_column(String(16), default="")
    provider_id: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str] = mapped_column(String(500), default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    incident = relationship("Incident")
    dispatch = relationship("Dispatch")

    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_provider_id", "provider_id"),
        Index("ix_notification_incident", "incident_id", "id"),
        Index("ix_notification_dispatch", "dispatch_id", "id"),
    )
