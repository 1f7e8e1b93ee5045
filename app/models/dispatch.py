"""Technicians' on-call shifts, dispatch offers and visits, and their escalation timers."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.domain.timeutil import utcnow
from app.extensions import db


class OnCallShift(db.Model):
    """A period in which a technician is on call (stored in UTC)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    note: Mapped[str] = mapped_column(String(200), default="")

    technician = relationship("Technician")

    __table_args__ = (Index("ix_on_call_shift_period", "starts_at", "ends_at"),
                      Index("ix_on_call_shift_technician", "technician_id", "starts_at"))


# At most one dispatch holds an incident: a second accept of another offer fails on this.
HOLDING = "state IN ('accepted', 'en_route', 'on_site')"


class Dispatch(db.Model):
    """One offer of an incident to one technician, and the visit if it is accepted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    technician_id: Mapped[int] = mapped_column(ForeignKey("technician.id"))
    state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(nullable=False)
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    offered_by: Mapped[str] = mapped_column(String(254), default="")
    escalation_step: Mapped[int] = mapped_column(default=0)  # steps of the policy done so far
    responded_at: Mapped[datetime | None] = mapped_column()
    departed_at: Mapped[datetime | None] = mapped_column()
    arrived_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    decline_reason: Mapped[str] = mapped_column(String(1000), default="")
    cancel_reason: Mapped[str] = mapped_column(String(1000), default="")
    work_report: Mapped[str] = mapped_column(Text, default="")
    signoff_name: Mapped[str] = mapped_column(String(100), default="")  # on site, on paper
    # The customer's own confirmation of the work report, given online once it exists
    # (app/services/dispatch/signoff.py): when, by which login, and an optional comment.
    customer_signoff_at: Mapped[datetime | None] = mapped_column()
    customer_signoff_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    customer_signoff_label: Mapped[str] = mapped_column(String(254), default="",
                                                        server_default="")
    customer_signoff_comment: Mapped[str] = mapped_column(String(1000), default="",
                                                          server_default="")

    incident = relationship("Incident", back_populates="dispatches")
    technician = relationship("Technician")
    customer_signoff_by = relationship("User")
    escalations = relationship("EscalationStep", back_populates="dispatch",
                               order_by="EscalationStep.due_at")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_dispatch_incident", "incident_id", "id"),
        Index("ix_dispatch_technician_state", "technician_id", "state"),
        Index("uq_dispatch_holder", "incident_id", unique=True,
              postgresql_where=text(HOLDING), sqlite_where=text(HOLDING)),
    )


class EscalationStep(db.Model):
    """A timer of the escalation policy: what to do at `due_at` if the offer is still open."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatch.id"))
    step: Mapped[int] = mapped_column()  # position in the policy, 1-based
    action: Mapped[str] = mapped_column(String(20))  # sms, voice, next_candidate, page_dispatcher
    due_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, done, cancelled
    done_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(200), default="")

    dispatch = relationship("Dispatch", back_populates="escalations")

    __table_args__ = (Index("ix_escalation_step_due", "status", "due_at"),
                      Index("ix_escalation_step_dispatch", "dispatch_id", "step"))


class UsedLink(db.Model):
    """A signed one-tap link that has been used (links are single-use)."""

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookReceipt(db.Model):
    """A signed webhook request already processed, so a replay changes nothing."""

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = ["Dispatch", "EscalationStep", "OnCallShift", "UsedLink", "WebhookReceipt"]
