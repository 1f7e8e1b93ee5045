"""Customers (SMEs), their contracts, and the insurance behind them."""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.timeutil import utcnow
from app.extensions import db

PLANS = ("network", "endpoint", "combined")


class Organization(db.Model):
    """An SME customer of the Otasuketai service."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    prefecture: Mapped[int] = mapped_column()  # JIS X 0401 code, 1 (Hokkaido) .. 47 (Okinawa)
    industry: Mapped[str] = mapped_column(String(100), default="")
    employees: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    phones = relationship("OrganizationPhone", back_populates="organization",
                          cascade="all, delete-orphan")
    contracts = relationship("Contract", back_populates="organization",
                             order_by="Contract.starts_on")
    policies = relationship("InsurancePolicy", back_populates="organization")

    __table_args__ = (CheckConstraint("prefecture BETWEEN 1 AND 47", name="prefecture"),)


class OrganizationPhone(db.Model):
    """A phone number of an organization, normalised to E.164, for caller-ID look-up."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(50), default="")

    organization = relationship("Organization", back_populates="phones")


class Insurer(db.Model):
    """An insurance company underwriting the simplified cyber insurance."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    notice_email: Mapped[str] = mapped_column(String(254), default="")  # 事故報告 by e-mail
    webhook_url: Mapped[str] = mapped_column(String(500), default="")  # "" = no webhooks
    webhook_secret: Mapped[str] = mapped_column(String(128), default="")  # HMAC key


class InsurancePolicy(db.Model):
    """The simplified cyber insurance policy covering an organization."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    insurer_id: Mapped[int] = mapped_column(ForeignKey("insurer.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    per_incident_limit: Mapped[int] = mapped_column()  # yen
    annual_aggregate: Mapped[int] = mapped_column()  # yen
    deductible: Mapped[int] = mapped_column(default=0)  # yen

    insurer = relationship("Insurer")
    organization = relationship("Organization", back_populates="policies")
    coverages = relationship("PolicyCoverage", back_populates="policy",
                             order_by="PolicyCoverage.id", cascade="all, delete-orphan")

    def covers(self, on):
        """True when the policy period includes the date `on`."""
        return self.starts_on <= on <= self.ends_on


class Contract(db.Model):
    """An Otasuketai service contract: plan, class, price and SLA targets."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    plan: Mapped[str] = mapped_column(String(16))
    service_class: Mapped[int] = mapped_column(default=1)
    devices: Mapped[int] = mapped_column(default=1)
    monthly_fee: Mapped[int] = mapped_column()  # yen, excluding tax
    onsite_support: Mapped[bool] = mapped_column(default=True)
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()
    desk_hours: Mapped[str] = mapped_column(String(16), default="24h")  # "24h" or "business"
    sla_first_response_minutes: Mapped[int] = mapped_column(default=30)
    sla_onsite_minutes: Mapped[int] = mapped_column(default=24 * 60)
    sla_acknowledge_minutes: Mapped[int] = mapped_column(default=30)  # technician accepts
    sla_claim_business_days: Mapped[int] = mapped_column(default=10)  # done → claim submitted
    # Alert severities that open an incident; None means ALERT_INCIDENT_SEVERITIES.
    alert_incident_severities: Mapped[list | None] = mapped_column(JSON)
    # The alert noise policy: {"exclude_groups": [...], "exclude_levels": [...],
    # "wazuh_levels": {"9": "medium", ...}}, each key optional; None means the defaults
    # (app/services/monitoring/policy.py). Excluded alerts are stored but open no incident.
    alert_policy: Mapped[dict | None] = mapped_column(JSON)
    # [[minutes after the offer, action], ...]; None means the default policy.
    escalation_policy: Mapped[list | None] = mapped_column(JSON)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("insurance_policy.id"))
    # Class-2 additions (2類): e.g. "CASB", "SASE"; a service given at least monthly.
    added_monitoring: Mapped[str] = mapped_column(String(100), default="")
    monthly_service: Mapped[str] = mapped_column(String(200), default="")

    organization = relationship("Organization", back_populates="contracts")
    policy = relationship("InsurancePolicy")

    __table_args__ = (
        CheckConstraint("plan IN ('network', 'endpoint', 'combined')", name="plan"),
        CheckConstraint("service_class IN (1, 2)", name="service_class"),
        CheckConstraint("devices >= 1", name="devices"),
        Index("ix_contract_org_period", "organization_id", "starts_on"),
    )

    def active_on(self, on):
        """True when the contract runs on the date `on`."""
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)
