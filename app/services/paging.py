"""Newest-first lists a page at a time: the page, and opaque cursors naming the last row."""

import base64
from dataclasses import dataclass

from app.errors import InvalidInput
from app.models import MAX_INTEGER

MAX_PAGE = 100_000  # ?page= of an offset list: far past any list, far below bigint offsets


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
        if kind != "i" or not 1 <= int(value) <= MAX_INTEGER:
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid.", {"field": "cursor"}) from exc


def bounded_id(value, field):
    """An id (a filter, an 'after') as given; InvalidInput when no INTEGER column holds it
    (PostgreSQL would refuse the comparison: a 500)."""
    if value is not None and value not in ("", 0) and not (
            isinstance(value, int) and 1 <= value <= MAX_INTEGER):
        raise InvalidInput(f"{field} is an id from 1 to {MAX_INTEGER}.", {"field": field})
    return value


def bounded_page(page):
    """A page number of an offset list from 1 to MAX_PAGE; InvalidInput otherwise."""
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"The page is a number from 1 to {MAX_PAGE}.", {"field": "page"})
    return page
