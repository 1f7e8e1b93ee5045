"""Time helpers: store naive UTC, show Japan time."""

from datetime import UTC, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


def utcnow():
    """Now in UTC, naive, as stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value):
    """An aware datetime as naive UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def to_jst(value):
    """A stored naive-UTC datetime as an aware Japan-time datetime."""
    return value.replace(tzinfo=UTC).astimezone(JST)


def isoformat_utc(value):
    """A stored naive-UTC datetime as ISO 8601 with a Z, for the API."""
    return None if value is None else value.replace(tzinfo=UTC).isoformat().replace(
        "+00:00", "Z")
