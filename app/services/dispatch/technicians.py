"""Technicians and their on-call shifts: who may change them and what makes them valid.

The API and the admin pages both come here, so a rule (E.164 phone, JIS prefecture
codes, no overlapping shifts) is written once. Every refusal names its field.
"""

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from app import access
from app.domain.labels import PREFECTURES
from app.domain.phones import clean_phone
from app.domain.timeutil import isoformat_utc, to_utc_naive, utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.extensions import db
from app.models import OnCallShift, Technician
from app.models.incident import CATEGORIES
from app.services import admin_log
from app.services.paging import bounded_id

MAX_SHIFT = timedelta(days=7)
MAX_HOURLY_RATE = 1_000_000  # yen; anything above is a typing error


class ShiftOverlap(Conflict):
    """The technician already has a shift in (part of) that period."""

    code = "shift_overlap"


def _invalid(field, reason, message):
    return InvalidInput(message, {"field": field, "reason": reason})


# ---------------------------------------------------------------- field rules


def _text(field, max_length, required=False):
    def clean(value):
        value = value.strip() if isinstance(value, str) else None
        if value is None or len(value) > max_length:
            raise _invalid(field, "invalid_text",
                           f"'{field}' must be text of at most {max_length} characters.")
        if required and not value:
            raise _invalid(field, "required", f"'{field}' is required.")
        return value
    return clean


def _clean_email(value):
    value = _text("email", 254)(value)
    if not value:
        return ""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise _invalid("email", "invalid_email", "The e-mail address is not valid.") from exc


def _clean_prefectures(value):
    if not isinstance(value, list | tuple) or not all(
            type(code) is int and 1 <= code <= len(PREFECTURES) for code in value):
        raise _invalid("prefectures", "invalid_prefecture",
                       "Prefectures are a list of JIS codes from 1 (Hokkaido) to 47 (Okinawa).")
    return sorted(set(value))


def _clean_skills(value):
    if not isinstance(value, list | tuple) or not all(skill in CATEGORIES for skill in value):
        raise _invalid("skills", "invalid_skill",
                       "Skills are a list of incident categories: " + ", ".join(CATEGORIES) + ".")
    return [category for category in CATEGORIES if category in value]


def _clean_hourly_rate(value):
    if type(value) is not int or not 0 <= value <= MAX_HOURLY_RATE:
        raise _invalid("hourly_rate", "invalid_rate",
                       f"The hourly rate is whole yen from 0 to {MAX_HOURLY_RATE}.")
    return value


def _clean_active(value):
    if type(value) is not bool:
        raise _invalid("active", "invalid_flag", "'active' is true or false.")
    return value


def _clean_locale(value):
    languages = current_app.config["LANGUAGES"]
    if value not in languages:
        raise _invalid("locale", "invalid_locale",
                       "The language of messages is one of: " + ", ".join(languages) + ".")
    return value


CLEANERS = {
    "name": _text("name", 100, required=True), "company": _text("company", 200),
    "phone": clean_phone, "email": _clean_email, "prefectures": _clean_prefectures,
    "skills": _clean_skills, "hourly_rate": _clean_hourly_rate, "active": _clean_active,
    "locale": _clean_locale,
}
FIELDS = tuple(CLEANERS)


def clean_technician_fields(fields):
    """The given technician fields checked and normalised; InvalidInput names a bad one."""
    unknown = set(fields) - set(CLEANERS)
    if unknown:
        raise _invalid(sorted(unknown)[0], "unknown_field", "Unknown technician field.")
    return {name: CLEANERS[name](value) for name, value in fields.items()}


# ---------------------------------------------------------------- technicians


def _technician(technician_id, lock=False):
    technician = db.session.get(Technician, technician_id, with_for_update=lock or None) \
        if isinstance(technician_id, int) else None
    if technician is None:
        raise NotFound("Technician not found.")
    return technician


def create_technician(actor, fields):
    """Add a technician (name and phone are required)."""
    access.require(actor, "technicians.manage")
    for required in ("name", "phone"):
        if required not in fields:
            raise _invalid(required, "required", f"'{required}' is required.")
    technician = Technician(**clean_technician_fields(fields))
    db.session.add(technician)
    admin_log.record(actor, "technician", "created", technician)
    db.session.commit()
    return technician


def update_technician(technician_id, actor, changes):
    """Change some fields of a technician."""
    access.require(actor, "technicians.manage")
    technician = _technician(technician_id)
    values = clean_technician_fields(changes)
    before = admin_log.snapshot(technician)
    for name, value in values.items():
        setattr(technician, name, value)
    admin_log.record(actor, "technician", "updated", technician, before)
    db.session.commit()
    return technician


def get_technician(actor, technician_id):
    """One technician, for the desk, dispatchers and admins."""
    access.require(actor, "technicians.read")
    return _technician(technician_id)


def list_technicians(actor, *, active=None, after_id=None, limit=100):
    """Technicians in id order, a page at a time (`after_id` is the last one seen)."""
    access.require(actor, "technicians.read")
    stmt = select(Technician).order_by(Technician.id).limit(limit)
    if active is not None:
        stmt = stmt.where(Technician.active.is_(active))
    if after_id is not None:
        stmt = stmt.where(Technician.id > bounded_id(after_id, "after"))
    return db.session.scalars(stmt).all()


# ---------------------------------------------------------------- on-call shifts


def _clean_period(starts_at, ends_at, now):
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if getattr(value, "tzinfo", None) is None:
            raise _invalid(field, "timezone_required", "Times must carry a time zone.")
    starts, ends = to_utc_naive(starts_at), to_utc_naive(ends_at)
    if ends <= starts:
        raise _invalid("ends_at", "ends_before_start", "The shift must end after it starts.")
    if ends - starts > MAX_SHIFT:
        raise _invalid("ends_at", "shift_too_long",
                       f"A shift lasts at most {MAX_SHIFT.days} days; add several.")
    if ends <= now:
        raise _invalid("ends_at", "shift_in_past", "The shift has already ended.")
    return starts, ends


def _overlapping(technician_id, starts, ends):
    return db.session.scalars(select(OnCallShift).where(
        OnCallShift.technician_id == technician_id, OnCallShift.starts_at < ends,
        OnCallShift.ends_at > starts).order_by(OnCallShift.starts_at)).first()


def add_shift(technician_id, actor, starts_at, ends_at, note="", *, now=None):
    """Put a technician on call from `starts_at` to `ends_at` (aware datetimes)."""
    access.require(actor, "shifts.manage")
    starts, ends = _clean_period(starts_at, ends_at, now or utcnow())
    note = _text("note", 200)(note)
    technician = _technician(technician_id, lock=True)  # serialises overlap checks per person
    clash = _overlapping(technician.id, starts, ends)
    if clash is not None:
        raise ShiftOverlap("The technician is already on call during part of that period.",
                           {"shift_id": clash.id, "starts_at": isoformat_utc(clash.starts_at),
                            "ends_at": isoformat_utc(clash.ends_at)})
    shift = OnCallShift(technician_id=technician.id, starts_at=starts, ends_at=ends, note=note)
    db.session.add(shift)
    admin_log.record(actor, "shift", "created", shift)
    db.session.commit()
    return shift


def delete_shift(shift_id, actor):
    """Remove a shift; returns the technician's id."""
    access.require(actor, "shifts.manage")
    shift = db.session.get(OnCallShift, shift_id) if isinstance(shift_id, int) else None
    if shift is None:
        raise NotFound("Shift not found.")
    technician_id = shift.technician_id
    admin_log.record(actor, "shift", "deleted", shift, admin_log.snapshot(shift))
    db.session.delete(shift)
    db.session.commit()
    return technician_id


def upcoming_shifts(actor, technician_id, *, since=None, limit=100):
    """The technician's shifts that end after `since` (default now), earliest first."""
    technician = get_technician(actor, technician_id)
    since = to_utc_naive(since) if since is not None else utcnow()
    return db.session.scalars(
        select(OnCallShift).where(OnCallShift.technician_id == technician.id,
                                  OnCallShift.ends_at > since)
        .order_by(OnCallShift.starts_at).limit(limit)).all()


def current_shifts(technician_ids, now):
    """{technician id: the shift they are on call in at `now`} (the one ending last)."""
    if not technician_ids:
        return {}
    shifts = db.session.scalars(select(OnCallShift).where(
        OnCallShift.technician_id.in_(list(technician_ids)), OnCallShift.starts_at <= now,
        OnCallShift.ends_at > now).order_by(OnCallShift.ends_at)).all()
    return {shift.technician_id: shift for shift in shifts}
