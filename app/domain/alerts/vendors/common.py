"""What the vendor adapters share: their time fallbacks and severity words."""

from app.domain.alerts.normalized import AlertFormatError, dig, text_or_none
from app.domain.alerts.times import parse_time


def first_time(obj, fields, context):
    """(time, field) of the first of fields present (dotted paths), else the receive time."""
    for field in fields:
        value = text_or_none(dig(obj, field))
        if value:
            return parse_time(value, field, context.received_at), field
    return context.received_at, "received"


def severity(table, value, name):
    """value (any case) through the vendor's table; AlertFormatError names the field."""
    word = (text_or_none(value) or "").lower()
    if word not in table:
        raise AlertFormatError(f"{name} {str(value)[:20]!r} is not one of "
                               f"{', '.join(sorted(table))}")
    return table[word]


def sensor(obj, fields, context, fallback):
    """The first of fields present, the key's default sensor, else the vendor's name."""
    for field in fields:
        value = text_or_none(dig(obj, field))
        if value:
            return value
    return context.default_sensor or fallback


def listed(value):
    """value as a list (a single value as one item, None as none)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
