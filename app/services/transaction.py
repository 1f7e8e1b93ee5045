"""Committing a use case's one transaction, where a concurrent writer may have got in first."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.errors import ConcurrentUpdate
from app.extensions import db


def commit_or_conflict(incident):
    """Commit; a clash with a concurrent writer (version or timeline seq) becomes a 409."""
    reference = incident.reference
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError) as exc:
        db.session.rollback()
        raise ConcurrentUpdate(reference) from exc


def retry_on_conflict(use_case, attempts=3):
    """Run `use_case` (which commits) again when a concurrent writer got in first.

    For callers that cannot ask anyone to try again: Twilio does not retry its callbacks,
    so a lost race would lose the update.
    """
    for attempt in range(1, attempts + 1):
        try:
            return use_case()
        except (StaleDataError, ConcurrentUpdate):
            db.session.rollback()
            if attempt == attempts:
                raise
    return None
