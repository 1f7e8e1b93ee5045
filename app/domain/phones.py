"""Phone numbers in E.164, for caller-ID matching and for the numbers people type in; what
kind of line a Japanese number is (only mobiles take SMS)."""

import re
import unicodedata

from app.errors import InvalidInput

PHONE_CHARS = re.compile(r"\+?[\d\s().-]+")
JAPANESE_NUMBER = re.compile(r"\+81[1-9]\d{8,9}")
E164 = re.compile(r"\+[1-9]\d{6,14}")

# The national form (leading 0) of a Japanese number, by the Ministry's numbering plan.
MOBILE = re.compile(r"0[789]0\d{8}")  # 070, 080, 090 and eight digits
IP_PHONE = re.compile(r"050\d{8}")
FREE_DIAL = re.compile(r"0120\d{6}|0800\d{7}")
# Navi dial, paid information, M2M, FMC, and the mobile and IP prefixes at a wrong length.
NON_GEOGRAPHIC = re.compile(r"0(?:570|990|20|60|[5789]0)\d*")
LANDLINE = re.compile(r"0[1-9]\d{8}")  # an area code and subscriber number: ten digits
# Kinds of number an SMS may go to. A foreign number's line type is not known here; it is
# texted and Twilio's status callback reports a failure (the offer then goes on by voice).
TAKES_SMS = frozenset({"mobile", "foreign"})


def _ascii_digits(raw):
    """Full-width digits and signs (０９０ー１２３４) become ASCII; dashes of any kind a hyphen."""
    text = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"[\u2010-\u2015\u2212\u30fc\uff70]", "-", text)


def normalize_phone(raw):
    """'03-1234-5678', '+81 3 1234 5678' and '81312345678' all become '+81312345678'."""
    raw = _ascii_digits(raw)
    digits = re.sub(r"[^0-9]", "", raw)
    if not digits:
        return ""
    if raw.strip().startswith("+"):
        if digits.startswith("810"):  # '+81 (0)3 ...': the trunk 0 written after the code
            digits = "81" + digits[3:]
        return "+" + digits
    if digits.startswith("0"):
        return "+81" + digits[1:]
    if digits.startswith("81"):
        return "+" + digits
    return "+" + digits


def clean_phone(raw):
    """A phone number in E.164: Japanese numbers as dialled at home or with +81, others with +."""
    raw = _ascii_digits(raw.strip()) if isinstance(raw, str) else ""
    number = normalize_phone(raw) if PHONE_CHARS.fullmatch(raw) else ""
    if JAPANESE_NUMBER.fullmatch(number):
        return number
    if raw.startswith("+") and not number.startswith("+81") and E164.fullmatch(number):
        return number
    raise InvalidInput("Give the phone number as 090-1234-5678 or in international form, "
                       "e.g. +81 90 1234 5678.", {"field": "phone", "reason": "invalid_phone"})


def phone_kind(raw):
    """What line a number is: mobile, ip (050), free_dial (0120/0800), landline, foreign or
    unknown (empty, malformed, or a Japanese non-geographic service such as 0570)."""
    number = normalize_phone(raw) if isinstance(raw, str) else ""
    if not number.startswith("+81"):
        return "foreign" if E164.fullmatch(number) else "unknown"
    national = "0" + number[3:]
    for kind, pattern in (("free_dial", FREE_DIAL), ("mobile", MOBILE), ("ip", IP_PHONE)):
        if pattern.fullmatch(national):
            return kind
    if NON_GEOGRAPHIC.fullmatch(national) or not LANDLINE.fullmatch(national):
        return "unknown"
    return "landline"


def takes_sms(raw):
    """Whether an SMS may be sent to this number (a mobile, or a foreign number)."""
    return phone_kind(raw) in TAKES_SMS
