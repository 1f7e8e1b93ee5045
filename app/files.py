"""Files written inside a database transaction are kept only if it commits.

A claim packet is written to disk before the row naming it is committed; if the
transaction then rolls back (a refused guard, a concurrent change), the file would
be an orphan. `keep_only_if_committed` ties the file to the transaction.
"""

from pathlib import Path

from sqlalchemy import event

from app.extensions import db

KEY = "files_written"


def keep_only_if_committed(path):
    """Delete `path` unless the current transaction commits."""
    db.session.info.setdefault(KEY, []).append(Path(path))


def _committed(session):
    session.info.pop(KEY, None)


def _ended(session, transaction):
    if transaction.parent is None:  # the outermost transaction: committed or not, it is over
        for path in session.info.pop(KEY, []):
            path.unlink(missing_ok=True)


def init_app(_app):
    """Listen to the session's transactions (once per process, whatever the app count)."""
    if not event.contains(db.session, "after_commit", _committed):
        event.listen(db.session, "after_commit", _committed)
        event.listen(db.session, "after_transaction_end", _ended)
