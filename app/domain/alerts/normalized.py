"""The normalized alert every input format is parsed into, and the checks they share."""

import ipaddress
import re
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
    time_source: str = ""  # the field that gave occurred_at: "rt", "syslog_header", ...
    users: tuple = ()  # accounts involved (Windows target/subject user, Office 365 UserId)
    identity: tuple = ()  # what tells events of one rule apart: attack, file, key, URL
    groups: tuple = ()  # the rule's groups (Wazuh rule.groups), for the noise policy
    level: int | None = None  # the vendor's own level (Wazuh rule.level), for overrides


@dataclass(frozen=True)
class Context:
    """What a record is read with besides itself: when it arrived (aware; places dates
    without a year, and is the last time fallback), the sensor to name when the record
    names none, and the adapter the sender chose (None: detected from the shape)."""

    received_at: datetime
    default_sensor: str | None = None
    source: str | None = None


def require_text(value, name):
    """A non-empty string (numbers are accepted for identifiers), stripped."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise AlertFormatError(f"{name} is missing or not a non-empty string")
    return value.strip()


def unique(values):
    """The values (stripped strings) without blanks and repeats, first occurrence first."""
    seen = []
    for value in values:
        value = value.strip() if isinstance(value, str) else value
        if value and value not in seen:
            seen.append(value)
    return tuple(seen)


def dig(obj, path):
    """obj's value at a dotted path, through nested objects or a dotted key at any level
    (ECS documents come both ways); None when absent."""
    if not isinstance(obj, dict):
        return None
    if path in obj:
        return obj[path]
    head, _, rest = path.partition(".")
    while rest:
        if head in obj:
            found = dig(obj[head], rest)
            if found is not None:
                return found
        more, _, rest = rest.partition(".")
        head = f"{head}.{more}"
    return None


def text_or_none(value):
    """A string or number as stripped text; None for anything else or a blank."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def ip_or_none(value):
    """An IP address in canonical text form, or None when value is not one."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None


def address_with_port(value):
    """The address of 'ip', 'ip:port' or '[v6]:port' (canonical), or None ('unknown', '-',
    a host name)."""
    text = str(value).strip()
    bracketed = re.fullmatch(r"\[([0-9A-Fa-f:.%a-z]+)\](?::\d{1,5})?", text)
    if bracketed:
        return ip_or_none(bracketed.group(1))
    with_port = re.fullmatch(r"([0-9.]+):\d{1,5}", text)
    return ip_or_none(with_port.group(1) if with_port else text)


def address(value, name):
    """An IP address in canonical text form."""
    found = ip_or_none(value)
    if found is None:
        raise AlertFormatError(f"{name} is not an IP address: {str(value)[:60]!r}")
    return found


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
