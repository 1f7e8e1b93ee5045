"""The money side: coverage heads, cost lines, evidence and its custody, claims and packets."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.timeutil import utcnow
from app.extensions import db


class CoverageHead(db.Model):
    """A head of cover (駆付け費用, 調査費用, 復旧費用, 相談費用, …); admins may add more."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))


class PolicyCoverage(db.Model):
    """How a policy pays one head: a payout ratio (percent) and a sub-limit (yen)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("insurance_policy.id"))
    head_id: Mapped[int] = mapped_column(ForeignKey("coverage_head.id"))
    payout_ratio: Mapped[int] = mapped_column()  # percent, 0..100
    sub_limit: Mapped[int] = mapped_column()  # yen per incident for this head

    head = relationship("CoverageHead")
    policy = relationship("InsurancePolicy", back_populates="coverages")

    __table_args__ = (
        UniqueConstraint("policy_id", "head_id", name="uq_policy_coverage_head"),
        CheckConstraint("payout_ratio BETWEEN 0 AND 100", name="payout_ratio"),
        CheckConstraint("sub_limit >= 0", name="sub_limit"),
    )


cost_item_evidence = Table(
    "cost_item_evidence", db.metadata,
    Column("cost_item_id", ForeignKey("cost_item.id"), primary_key=True),
    Column("evidence_id", ForeignKey("evidence.id"), primary_key=True),
)


class CostItem(db.Model):
    """One cost line: quantity × unit price (yen, excl. tax) under a coverage head."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch.id"))
    head_id: Mapped[int] = mapped_column(ForeignKey("coverage_head.id"))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit_price: Mapped[int] = mapped_column()  # yen, excluding tax
    amount: Mapped[int] = mapped_column()  # floor(quantity × unit_price), yen excl. tax
    tax_rate: Mapped[int] = mapped_column(default=10)  # percent
    incurred_on: Mapped[date] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft approved rejected
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    entered_by_label: Mapped[str] = mapped_column(String(254), default="")
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(nullable=False)

    head = relationship("CoverageHead")
    incident = relationship("Incident", back_populates="cost_items")
    dispatch = relationship("Dispatch")
    evidence = relationship("Evidence", secondary=cost_item_evidence,
                            back_populates="cost_items", order_by="Evidence.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_cost_item_incident", "incident_id", "id"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        CheckConstraint("tax_rate BETWEEN 0 AND 100", name="tax_rate"),
    )


class Evidence(db.Model):
    """A file kept for an incident (receipt, photo, log, work report), by content hash."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch.id"))
    kind: Mapped[str] = mapped_column(String(16))  # receipt, photo, log, work_report, other
    original_name: Mapped[str] = mapped_column(String(255))  # shown only, never a path
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)  # generated
    content_type: Mapped[str] = mapped_column(String(100))  # detected from the content
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_by_label: Mapped[str] = mapped_column(String(254), default="")
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident = relationship("Incident", back_populates="evidence")
    cost_items = relationship("CostItem", secondary=cost_item_evidence,
                              back_populates="evidence")
    custody = relationship("CustodyEntry", back_populates="evidence",
                           order_by="CustodyEntry.id")

    __table_args__ = (Index("ix_evidence_incident", "incident_id", "id"),)


class CustodyEntry(db.Model):
    """Who touched an evidence file, when and how (upload, view, download, packed, …)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))
    action: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_label: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(500), default="")

    evidence = relationship("Evidence", back_populates="custody")

    __table_args__ = (Index("ix_custody_entry_evidence", "evidence_id", "id"),)


class Claim(db.Model):
    """The insurance claim of one incident; its state is the incident's claim_* state."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), unique=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("insurance_policy.id"))
    claimed_amount: Mapped[int] = mapped_column(default=0)  # yen incl. tax, approved lines
    payable_amount: Mapped[int] = mapped_column(default=0)  # computed from the policy
    approved_amount: Mapped[int | None] = mapped_column()
    paid_amount: Mapped[int | None] = mapped_column()
    paid_on: Mapped[date | None] = mapped_column()
    computation: Mapped[dict] = mapped_column(JSON, default=dict)  # line by line, as shown
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(nullable=False)

    incident = relationship("Incident", back_populates="claim")
    policy = relationship("InsurancePolicy")
    packets = relationship("ClaimPacket", back_populates="claim", order_by="ClaimPacket.version")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_claim_policy", "policy_id", "id"),)


class ClaimPacket(db.Model):
    """One submitted version of a claim's packet (a signed ZIP kept under EVIDENCE_DIR)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"))
    version: Mapped[int] = mapped_column()
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))  # of the whole ZIP
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))  # Ed25519 over manifest.json, base64
    public_key: Mapped[str] = mapped_column(String(100))  # base64, to verify offline
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_label: Mapped[str] = mapped_column(String(254), default="")

    claim = relationship("Claim", back_populates="packets")

    __table_args__ = (UniqueConstraint("claim_id", "version", name="uq_claim_packet_version"),)


class InsurerNotice(db.Model):
    """What an insurer was told (early notice, claim events), shown in its portal."""

    id: Mapped[int] = mapped_column(primary_key=True)
    insurer_id: Mapped[int] = mapped_column(ForeignKey("insurer.id"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    kind: Mapped[str] = mapped_column(String(32))  # early_notice, claim_submitted, …
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()

    incident = relationship("Incident")

    __table_args__ = (Index("ix_insurer_notice_insurer", "insurer_id", "id"),
                      UniqueConstraint("incident_id", "kind", "insurer_id",
                                       name="uq_insurer_notice_once"),)

