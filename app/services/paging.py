"""Newest-first lists a page at a time: the page, and opaque cursors naming the last row."""

import base64
from dataclasses import dataclass

from app.errors import InvalidInput


@dataclass
class Page:
    """One page of a newest-first list and the cursor of the next page."""

    items: list
    next_cursor: str | None


def encode_cursor(last_id):
    """An opaque cursor for the page after the incident `last_id`."""
    return base64.urlsafe_b64encode(f"i:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The incident id a cursor points after; InvalidInput for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "i":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid.", {"field": "cursor"}) from exc
