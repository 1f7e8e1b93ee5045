"""Incidents, their append-only hash-chained timeline, and the reference counter."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.timeutil import utcnow
from app.extensions import db

CHANNELS = ("phone", "web", "email", "monitoring")
CATEGORIES = (
    "malware", "ransomware", "unauthorized_access", "vulnerability_exploit", "phishing_bec",
    "support_scam", "web_defacement", "dos", "data_leak", "suspicious_traffic", "insider",
    "other",
)
SEVERITIES = ("critical", "high", "medium", "low")
DISCOVERY_SOURCES = ("alert", "user", "external_notice")


class Incident(db.Model):
    """One incident, a state machine (workflows/incident.py) with optimistic locking."""

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    reporter_name: Mapped[str] = mapped_column(String(100), default="")
    reporter_phone: Mapped[str] = mapped_column(String(32), default="")
    reporter_email: Mapped[str] = mapped_column(String(254), default="")
    occurred_at: Mapped[datetime | None] = mapped_column()
    discovered_at: Mapped[datetime] = mapped_column()
    discovery_source: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(32))
    assigned_technician_id: Mapped[int | None] = mapped_column(ForeignKey("technician.id"))
    # Personal-data leak (個人情報保護委員会への報告): marks the legal deadline clocks.
    personal_data_leak: Mapped[bool] = mapped_column(default=False)
    leak_malicious: Mapped[bool] = mapped_column(default=False)  # final report in 60 days
    leak_preliminary_reported_at: Mapped[datetime | None] = mapped_column()
    leak_final_reported_at: Mapped[datetime | None] = mapped_column()
    # Opened by the phone line with placeholder facts: the desk still has to complete it
    # (cleared by a staff correction, services/incidents/corrections.py).
    needs_completion: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    version: Mapped[int] = mapped_column(nullable=False)
    # Hash of the newest timeline event and their count, so a deleted tail is detected.
    audit_head: Mapped[str] = mapped_column(String(64), default="")
    event_count: Mapped[int] = mapped_column(default=0)
    # Ed25519 over (id, event_count, audit_head) with the server's audit key, base64;
    # "" on chains written before heads were signed (services/incidents/audit.py).
    audit_signature: Mapped[str] = mapped_column(String(88), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization = relationship("Organization")
    assigned_technician = relationship("Technician")
    events = relationship("IncidentEvent", back_populates="incident",
                          order_by="IncidentEvent.seq", cascade="all, delete-orphan")
    dispatches = relationship("Dispatch", back_populates="incident", order_by="Dispatch.id")
    cost_items = relationship("CostItem", back_populates="incident", order_by="CostItem.id")
    evidence = relationship("Evidence", back_populates="incident", order_by="Evidence.id")
    claim = relationship("Claim", back_populates="incident", uselist=False)
    sla_clocks = relationship("SlaClock", back_populates="incident", order_by="SlaClock.id")

    __mapper_args__ = {"version_id_col": version}
    # Newest first, cursor on id: every filter has an index ending in id.
    __table_args__ = (
        Index("ix_incident_state_id", "state", "id"),
        Index("ix_incident_org_id", "organization_id", "id"),
        Index("ix_incident_category_id", "category", "id"),
        Index("ix_incident_severity_id", "severity", "id"),
        Index("ix_incident_channel_id", "channel", "id"),
        Index("ix_incident_technician_id", "assigned_technician_id", "id"),
        Index("ix_incident_created_at", "created_at"),  # periods of the dashboard and reports
    )


DISPATCH_REQUEST = "trigger = 'request_dispatch'"


class IncidentEvent(db.Model):
    """One entry of an incident's timeline; each hashes its content and its predecessor."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    seq: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))  # intake, transition, note, triage_check
    occurred_at: Mapped[datetime] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_label: Mapped[str] = mapped_column(String(254))
    trigger: Mapped[str | None] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    incident = relationship("Incident", back_populates="events")
    actor = relationship("User")

    __table_args__ = (
        UniqueConstraint("incident_id", "seq", name="uq_incident_event_seq"),
        # When dispatch was last requested, per incident: the board sorts every incident in
        # a board state by it. Partial, so that the other events (the intake and alert
        # volume) do not feed it.
        Index("ix_incident_event_dispatch_request", "incident_id", "occurred_at",
              postgresql_where=text(DISPATCH_REQUEST), sqlite_where=text(DISPATCH_REQUEST)),
    )


class ReferenceCounter(db.Model):
    """The last reference number handed out per year (row-locked while incrementing)."""

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(default=0)


LINK_KINDS = ("duplicate_of", "related")


class IncidentLink(db.Model):
    """Two incidents linked: `incident` is a duplicate of `other` (and was cancelled for it),
    or the two are related. One row links both ways (services/incidents/links.py)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    other_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    incident = relationship("Incident", foreign_keys=[incident_id])
    other = relationship("Incident", foreign_keys=[other_id])

    __table_args__ = (
        UniqueConstraint("incident_id", "other_id", "kind", name="uq_incident_link"),
        CheckConstraint("kind IN ('duplicate_of', 'related')", name="kind"),
        CheckConstraint("incident_id <> other_id", name="not_self"),
    )


class Voicemail(db.Model):
    """A message left at the desk number by a caller no organization registered: the desk
    assigns it to an organization, which opens an incident (services/incidents/phone_line.py)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    caller: Mapped[str] = mapped_column(String(32), default="")  # E.164, "" when withheld
    url: Mapped[str] = mapped_column(String(500))
    duration: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    assigned_at: Mapped[datetime | None] = mapped_column()
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    incident = relationship("Incident")
