"""Japanese phone numbers in E.164, for caller-ID matching."""

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Organization, OrganizationPhone


def normalize_phone(raw):
    """'03-1234-5678', '+81 3 1234 5678' and '81312345678' all become '+81312345678'."""
    digits = re.sub(r"\D", "", raw or "")
    if not digits:
        return ""
    if raw.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("0"):
        return "+81" + digits[1:]
    if digits.startswith("81"):
        return "+" + digits
    return "+" + digits


def organization_by_phone(raw):
    """The organization that registered this phone number, or None."""
    number = normalize_phone(raw)
    if not number:
        return None
    return db.session.scalars(
        select(Organization).join(OrganizationPhone)
        .where(OrganizationPhone.number == number)).first()


def organization_by_code_or_phone(value):
    """Find an organization by its customer number (code) or a registered phone number."""
    value = (value or "").strip()
    if not value:
        return None
    by_code = db.session.scalars(
        select(Organization).where(Organization.code == value.upper())).first()
    return by_code or organization_by_phone(value)
