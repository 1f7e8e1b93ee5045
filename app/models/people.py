"""People: users with roles, their API tokens, and technicians."""

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.domain.timeutil import utcnow
from app.extensions import db

ROLES = ("customer", "desk", "dispatcher", "technician", "insurer", "admin")


class Technician(db.Model):
    """An on-site technician, often of a partner company."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    company: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254), default="")
    prefectures: Mapped[list] = mapped_column(JSON, default=list)  # JIS codes served
    skills: Mapped[list] = mapped_column(JSON, default=list)  # incident categories
    hourly_rate: Mapped[int] = mapped_column(default=0)  # yen, excluding tax
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(5), default="ja")  # language of their messages


class User(UserMixin, db.Model):
    """A person who logs in: role, and the organization, insurer or technician they act for."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(20), default="")  # E.164, for pages by SMS
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    insurer_id: Mapped[int | None] = mapped_column(ForeignKey("insurer.id"))
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("technician.id"))
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of the id a session (and a remember cookie) carries: raising it ends every session
    # of the user at once (logout, a new password, deactivation; app/auth.py).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    organization = relationship("Organization")
    insurer = relationship("Insurer")
    technician = relationship("Technician")

    __table_args__ = (
        CheckConstraint(
            "role IN ('customer', 'desk', 'dispatcher', 'technician', 'insurer', 'admin')",
            name="role"),
    )

    @property
    def is_active(self):
        """Flask-Login: a deactivated user cannot log in."""
        return self.active

    def get_id(self):
        """Flask-Login: the id a session names, "<user id>.<session epoch>"."""
        return f"{self.id}.{self.session_epoch or 0}"

    def end_sessions(self):
        """Every session (and remember cookie) given out so far stops working."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def set_password(self, password):
        """Store a salted hash of the password, never the password; a new password ends
        every session of the old one."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)
        if self.id is not None:
            self.end_sessions()

    def check_password(self, password):
        """True when the password matches the stored hash."""
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)


class ApiToken(db.Model):
    """A bearer token for the JSON API, stored as its SHA-256 only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown to people to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()  # None: until revoked
    revoked_at: Mapped[datetime | None] = mapped_column()

    user = relationship("User")
