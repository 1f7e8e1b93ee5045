"""The normalized alert every input format is parsed into, and the checks they share."""

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

from app.domain.timeutil import in_range_utc

SEVERITIES = ("critical", "high", "medium", "low")


class AlertFormatError(ValueError):
    """A payload or record that cannot be read as an alert; index names the record."""

    def __init__(self, message, index=None):
        super().__init__(message if index is None else f"record {index}: {message}")
        self.reason = message
        self.index = index


@dataclass(frozen=True)
class NormalizedAlert:
    """One alert as the rest of the system sees it, whatever format it came in."""

    source: str
    sensor: str
    severity: str
    rule_id: str
    rule_name: str
    hosts: tuple
    addresses: tuple
    occurred_at: datetime
    raw: str


def require_text(value, name):
    """A non-empty string (numbers are accepted for identifiers), stripped."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise AlertFormatError(f"{name} is missing or not a non-empty string")
    return value.strip()


def unique(values):
    """The values without blanks and repeats, first occurrence first."""
    seen = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return tuple(seen)


def address(value, name):
    """An IP address in canonical text form."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise AlertFormatError(f"{name} is not an IP address: {str(value)[:60]!r}") from None


def aware_utc(value, name):
    """An aware datetime in UTC; a naive one is refused (a JST sensor would be 9 h off)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise AlertFormatError(f"{name} has no time zone")
    try:
        in_range_utc(value)
    except ValueError as error:
        raise AlertFormatError(f"{name}: {error}") from None
    return value.astimezone(UTC)


def iso_timestamp(value, name):
    """An ISO 8601 timestamp with a zone (Z, +09:00 or +0900) as aware UTC."""
    if not isinstance(value, str):
        raise AlertFormatError(f"{name} is missing or not a string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise AlertFormatError(f"{name} is not an ISO 8601 timestamp: {value[:60]!r}") from None
    return aware_utc(parsed, name)
