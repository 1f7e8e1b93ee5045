"""Incident references INC-YYYY-NNNNNN, unique under concurrent intake."""

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import ReferenceCounter
from app.timeutil import to_jst

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def next_reference(now):
    """Take the next number of the (Japan-time) year; the counter row stays locked to commit."""
    year = to_jst(now).year
    insert = _INSERT[db.engine.dialect.name]
    db.session.execute(
        insert(ReferenceCounter).values(year=year, last_value=0).on_conflict_do_nothing()
    )
    number = db.session.execute(
        update(ReferenceCounter).where(ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    ).scalar_one()
    return f"INC-{year}-{number:06d}"
