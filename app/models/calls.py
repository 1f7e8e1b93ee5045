"""Calls to the desk number, from the moment they ring until Twilio says they ended."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

CALL_END_STATES = ("completed", "no-answer", "busy", "failed", "canceled")


class PhoneCall(db.Model):
    """One call to the desk number (Twilio's CallSid), shown to the desk while it lasts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(32), default="")  # "" when withheld
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    status: Mapped[str] = mapped_column(String(16), default="ringing")
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    organization = relationship("Organization")
    incident = relationship("Incident")

    __table_args__ = (Index("ix_phone_call_open", "ended_at", "started_at"),)


__all__ = ["CALL_END_STATES", "PhoneCall"]
