"""Phone numbers in E.164, for caller-ID matching and for the numbers people type in."""

import re

from app.errors import InvalidInput

PHONE_CHARS = re.compile(r"\+?[\d\s().-]+")
JAPANESE_NUMBER = re.compile(r"\+81[1-9]\d{8,9}")
E164 = re.compile(r"\+[1-9]\d{6,14}")


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


def clean_phone(raw):
    """A phone number in E.164: Japanese numbers as dialled at home or with +81, others with +."""
    raw = raw.strip() if isinstance(raw, str) else ""
    number = normalize_phone(raw) if PHONE_CHARS.fullmatch(raw) else ""
    if JAPANESE_NUMBER.fullmatch(number):
        return number
    if raw.startswith("+") and not number.startswith("+81") and E164.fullmatch(number):
        return number
    raise InvalidInput("Give the phone number as 090-1234-5678 or in international form, "
                       "e.g. +81 90 1234 5678.", {"field": "phone", "reason": "invalid_phone"})
