"""Event times as sensors write them: epoch numbers told apart by their magnitude, syslog's
'MMM dd [yyyy] HH:mm:ss[.SSS] [zone]' with or without a year, and ISO 8601.

A time without a zone is taken as Japan time (LOCAL_ZONE): the appliances of this service's
customers are set to it, and FortiGate's own zone field overrides it where it is sent.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.alerts.normalized import AlertFormatError, aware_utc
from app.domain.timeutil import JST

LOCAL_ZONE = JST
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZONES = {"UTC": UTC, "GMT": UTC, "Z": UTC, "JST": JST}
_OFFSET = re.compile(r"(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?")
_EPOCH = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,9})?")
_MONTH_DATE = re.compile(
    r"([A-Z][a-z]{2}) +(\d{1,2})(?: (\d{4}))? (\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
    r"(?: +(\S+))?")
# Epoch values below each bound are in this unit: 1e11 s is the year 5138, 1e11 ms 1973.
_EPOCH_UNITS = ((10**11, 1), (10**14, 10**3), (10**17, 10**6), (None, 10**9))


def parse_time(text, name, received_at, zone=None):
    """A time in any accepted form as aware UTC; AlertFormatError naming `name` otherwise.

    received_at (aware) places a date without a year; zone (a tzinfo) is used for times
    without one, LOCAL_ZONE when None."""
    value = str(text).strip()
    if _EPOCH.fullmatch(value):
        return epoch(value, name)
    match = _MONTH_DATE.fullmatch(value)
    if match and match.group(1) in MONTHS:
        return _month_date(match, name, received_at, zone or LOCAL_ZONE)
    if re.match(r"\d{4}-\d{2}-\d{2}", value):
        return _iso(value, name, zone or LOCAL_ZONE)
    raise AlertFormatError(
        f"{name} is not epoch, 'MMM dd [yyyy] HH:mm:ss [zone]' or ISO 8601: {value[:40]!r}")


def epoch(text, name):
    """Epoch seconds, milliseconds, microseconds or nanoseconds (by magnitude) as aware UTC;
    a decimal fraction means seconds."""
    whole, _, fraction = str(text).strip().partition(".")
    number = int(whole)
    divisor = 1 if fraction else next(d for bound, d in _EPOCH_UNITS
                                       if bound is None or number < bound)
    seconds, rest = divmod(number, divisor)
    micros = rest * 10**6 // divisor + int((fraction or "0").ljust(6, "0")[:6])
    try:
        moment = datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=micros)
    except (OverflowError, OSError, ValueError):
        raise AlertFormatError(f"{name} is out of range: {text[:30]}") from None
    return aware_utc(moment, name)


def _month_date(match, name, received_at, default_zone):
    """'MMM dd [yyyy] HH:mm:ss[.SSS] [zone]'; without a year, the year that puts it nearest
    the receive time (a December line received on 1 January is last year's)."""
    month, day, year, hour, minute, second, fraction, zone_text = match.groups()
    zone = zone_of(zone_text, name) if zone_text else default_zone
    years = [int(year)] if year else [received_at.astimezone(zone).year + d for d in (0, -1, 1)]
    candidates = []
    for candidate_year in years:
        try:
            candidates.append(datetime(
                candidate_year, MONTHS.index(month) + 1, int(day), int(hour), int(minute),
                int(second), int((fraction or "0").ljust(6, "0")), tzinfo=zone))
        except ValueError:
            continue  # 29 Feb in other years; a bad date in every year is refused below
    if not candidates:
        raise AlertFormatError(f"{name} is not a valid date: {match.group(0)[:40]!r}")
    nearest = min(candidates, key=lambda moment: abs(moment - received_at))
    return aware_utc(nearest, name)


def _iso(text, name, default_zone):
    """ISO 8601 (T or a space between date and time; Z, +09:00 or +0900; any fraction)."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # nanoseconds (Falcon): microseconds
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise AlertFormatError(f"{name} is not a valid ISO 8601 time: {text[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_zone)
    return aware_utc(parsed, name)


def zone_of(text, name):
    """A zone: UTC, GMT, Z, JST, +09:00, +0900, +9, GMT+09:00 or an IANA name (Asia/Tokyo)."""
    text = text.strip().strip('"')
    if text in _ZONES:
        return _ZONES[text]
    match = _OFFSET.fullmatch(text)
    if match and int(match.group(2)) <= 23 and int(match.group(3) or 0) <= 59:
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        return timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))
    if "/" in text:
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise AlertFormatError(f"{name} has an unknown time zone {text[:20]!r}")
