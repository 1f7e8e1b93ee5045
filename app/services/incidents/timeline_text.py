"""Timeline events as sentences (app/domain/timeline.py) with the names only the database
knows: technicians by id, coverage heads by code in the language in force."""

from flask_babel import get_locale
from sqlalchemy import select

from app.domain.timeline import tell
from app.extensions import db
from app.models import CoverageHead, Technician


class DatabaseNames:
    """Technicians' and coverage heads' names, each read once (a page tells many events)."""

    def __init__(self):
        self._heads = None

    def technician(self, technician_id):
        if not isinstance(technician_id, int):
            return None
        technician = db.session.get(Technician, technician_id)
        return technician.name if technician else None

    def head(self, code):
        if self._heads is None:
            self._heads = {h.code: h for h in db.session.scalars(select(CoverageHead))}
        head = self._heads.get(code)
        if head is None:
            return None
        return head.name_en if str(get_locale() or "ja") == "en" else head.name_ja


def describe(event, names=None):
    """The event (a row, or its mapping in a document) told in the language in force."""
    return tell(event, names or DatabaseNames())
