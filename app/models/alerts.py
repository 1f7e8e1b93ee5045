"""Monitoring alerts, the per-organization keys sensors send them with, and refused payloads."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.timeutil import utcnow
from app.extensions import db


class IngestKey(db.Model):
    """A sensor's key for POST /api/v1/alerts; only its sha256 is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    # The sensor named on alerts that name none themselves; "" means the organization's code.
    sensor: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # SHA-256 (hex) of the TLS client certificate a syslog sender may present instead of
    # being known by its address; at most one active key per fingerprint (the service checks).
    cert_fingerprint: Mapped[str | None] = mapped_column(String(64))

    organization = relationship("Organization", viewonly=True)
    senders = relationship("IngestSender", order_by="IngestSender.network", viewonly=True)

    @property
    def default_sensor(self):
        """The sensor name for this key's alerts that name none: set, else the org's code."""
        return self.sensor or self.organization.code


class IngestSender(db.Model):
    """A syslog sender (an address or CIDR) bound to an ingest key: its lines are that key's
    organization's. One network is bound to at most one active key (the service checks)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    ingest_key_id: Mapped[int] = mapped_column(ForeignKey("ingest_key.id"), index=True)
    network: Mapped[str] = mapped_column(String(64))  # normalized: "192.0.2.0/24", "::1/128"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(db.Model):
    """One normalized alert; repeats within the dedup window are counted on it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    source: Mapped[str] = mapped_column(String(32))
    sensor: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(200))
    rule_name: Mapped[str] = mapped_column(String(500))
    hosts: Mapped[list] = mapped_column(JSON, default=list)
    addresses: Mapped[list] = mapped_column(JSON, default=list)
    occurred_at: Mapped[datetime] = mapped_column()
    first_seen_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    count: Mapped[int] = mapped_column(default=1)
    dedup_key: Mapped[str] = mapped_column(String(64))
    raw: Mapped[str] = mapped_column(Text, default="")  # the first record as received
    # The newest raw records (ALERT_SAMPLES of them), oldest first; the first is raw.
    samples: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # The field that gave occurred_at ("rt", "FTNTFGTeventtime", "syslog_header", ...).
    time_source: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # The accounts it names (Windows target/subject user, Office 365 UserId, CEF suser).
    users: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))

    __table_args__ = (
        Index("ix_alert_org_dedup_last_seen", "organization_id", "dedup_key", "last_seen_at"),
        Index("ix_alert_org_first_seen", "organization_id", "first_seen_at"),  # reports
    )


class RejectedPayload(db.Model):
    """A body the ingest refused, kept for inspection (never silently dropped)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_type: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # the first 64 KiB, decoded leniently
    # The refused record's line in its body (a refused line of a batch whose other lines
    # were stored); None when the whole body was refused.
    line: Mapped[int | None] = mapped_column()
