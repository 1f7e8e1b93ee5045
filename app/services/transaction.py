"""Committing a use case's one transaction, where a concurrent writer may have got in first."""

from contextlib import contextmanager

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


@contextmanager
def conflict_as_409(incident):
    """Around a use case's changes and commit: a concurrent writer found by any flush on the
    way (an autoflush before a query, not only the commit) is a 409 with nothing kept; any
    other failure rolls back too."""
    reference = incident.reference
    try:
        yield
    except (StaleDataError, IntegrityError) as exc:
        db.session.rollback()
        raise ConcurrentUpdate(reference) from exc
    except Exception:
        db.session.rollback()
        raise


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
