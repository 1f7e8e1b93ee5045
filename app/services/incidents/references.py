"""Incident references INC-YYYY-NNNNNN, unique under concurrent intake."""

from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.domain.timeutil import to_jst
from app.extensions import db
from app.models import Incident, ReferenceCounter

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _next_incident_id(dialect):
    """SQL for the id the next incident gets: from its sequence on PostgreSQL; on SQLite,
    whose writers take turns (BEGIN IMMEDIATE), one past the highest, as SQLite would."""
    if dialect == "postgresql":
        return func.nextval(func.pg_get_serial_sequence(Incident.__tablename__, "id"))
    return select(func.coalesce(func.max(Incident.id), 0) + 1).scalar_subquery()


@dataclass(frozen=True)
class IncidentNumbers:
    """A new incident's reference and primary key, taken before its row is written."""

    reference: str
    incident_id: int


def number_incident(now):
    """Take the next number of the (Japan-time) year and the next incident id.

    One statement as a rule: an UPDATE of the year's counter returning both (a plain UPDATE,
    unlike an upsert, is compiled once and cached); the year's first intake adds the row
    first. The counter row stays locked from here to the commit, so concurrent intakes
    queue on it: call this last before the incident's rows are written. The id comes with
    the number so the incident is inserted complete, its audit head included (the first
    event's hash covers the incident id), rather than inserted and then updated.
    """
    year = to_jst(now).year
    taken = _take(year)
    if taken is None:
        db.session.execute(_INSERT[db.engine.dialect.name](ReferenceCounter.__table__)
                           .values(year=year, last_value=0).on_conflict_do_nothing())
        taken = _take(year)
    number, incident_id = taken
    return IncidentNumbers(f"INC-{year}-{number:06d}", incident_id)


def _take(year):
    """(number, incident id) from the year's counter, moved on by one; None without a row."""
    return db.session.execute(_take_statement(db.engine.dialect.name),
                              {"of_year": year}).one_or_none()


@cache
def _take_statement(dialect):
    """The UPDATE of _take, built once per dialect (every intake runs it)."""
    counter = ReferenceCounter.__table__
    return (update(counter).where(counter.c.year == bindparam("of_year"))
            .values(last_value=counter.c.last_value + 1)
            .returning(counter.c.last_value, _next_incident_id(dialect)))
