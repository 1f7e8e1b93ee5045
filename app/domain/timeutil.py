"""Time helpers: store naive UTC, show Japan time."""

from datetime import UTC, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")
# The instants people and sensors may give (UTC, naive): far enough for any incident, near
# enough that a time-zone shift or a deadline added to it never leaves datetime's range.
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2100, 1, 1)


def utcnow():
    """Now in UTC, naive, as stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value):
    """An aware datetime as naive UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def in_range_utc(value):
    """An aware (or naive-UTC) datetime as naive UTC; ValueError outside EARLIEST-LATEST."""
    try:
        utc = to_utc_naive(value)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"a time from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} (UTC) is "
                         "expected")
    return utc


def to_jst(value):
    """A stored naive-UTC datetime as an aware Japan-time datetime."""
    return value.replace(tzinfo=UTC).astimezone(JST)


def isoformat_utc(value):
    """A stored naive-UTC datetime as ISO 8601 with a Z, for the API."""
    return None if value is None else value.replace(tzinfo=UTC).isoformat().replace(
        "+00:00", "Z")
