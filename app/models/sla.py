"""SLA clocks: one row per measured interval of an incident (DESIGN.md §1, issue 5)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

CLOCK_NAMES = ("first_response", "acknowledgement", "arrival", "claim_submission",
               "leak_preliminary", "leak_final")
CALENDARS = ("24h", "business")
OUTCOMES = ("running", "met", "missed", "withdrawn")


class SlaClock(db.Model):
    """A clock that starts at an event and is stopped by another; due and warning instants
    are computed once at the start (in the clock's calendar), so reading a clock is cheap."""

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    name: Mapped[str] = mapped_column(String(32))
    calendar: Mapped[str] = mapped_column(String(16))  # "24h" or "business"
    target_minutes: Mapped[int] = mapped_column()  # in the clock's calendar
    started_at: Mapped[datetime] = mapped_column()
    warn_at: Mapped[datetime] = mapped_column()  # near-breach from here
    due_at: Mapped[datetime] = mapped_column()
    stopped_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(12), default="running")
    # When the dispatchers were paged about the near-breach / the breach (once each).
    warned_at: Mapped[datetime | None] = mapped_column()
    breach_paged_at: Mapped[datetime | None] = mapped_column()

    incident = relationship("Incident", back_populates="sla_clocks")

    __table_args__ = (
        UniqueConstraint("incident_id", "name", name="uq_sla_clock_incident_name"),
        Index("ix_sla_clock_started_at", "started_at"),  # breach rates over a period
        # The worker's look-up of running clocks that are due to page someone.
        Index("ix_sla_clock_running_warn", "warn_at",
              postgresql_where=text("outcome = 'running'"),
              sqlite_where=text("outcome = 'running'")),
    )

    def status(self, now):
        """ok / near / breached while running; the outcome once stopped."""
        if self.outcome != "running":
            return self.outcome
        if now >= self.due_at:
            return "breached"
        return "near" if now >= self.warn_at else "ok"
