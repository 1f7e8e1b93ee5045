"""The provider dashboard: figures over a period of JST dates, and the incidents behind each.

Every figure is an aggregate over one metric's rows `(incident_id, key, value)`, and its
drill-down list is the distinct `incident_id` of the very same rows: a number and its list
are built from one query definition, so they cannot disagree. `count` is always the number
of distinct incidents behind the figure (= the drill-down list's length); `total`, `mean`
and `median` aggregate the rows' values (seconds, yen, days). The key "all" is the whole
metric, unfiltered. The definitions are documented in docs/statistics.md.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    Integer,
    String,
    and_,
    cast,
    distinct,
    extract,
    func,
    literal_column,
    null,
    or_,
    select,
)

from app.domain.timeutil import EARLIEST, JST, LATEST, to_jst
from app.errors import InvalidInput
from app.extensions import db
from app.models import Alert, Claim, ClaimPacket, CostItem, Incident, Organization, SlaClock
from app.models.incident import CATEGORIES, SEVERITIES
from app.models.sla import CLOCK_NAMES
from app.services.incidents.queries import incident_page

ALL = "all"
DEFAULT_DAYS = 30
MAX_YEARS = 3
DAY_SECONDS = 24 * 60 * 60
JST_OFFSET = JST.utcoffset(None)
STOPPED = ("met", "missed")  # a clock stopped by its event (not withdrawn, not running)


# ---------------------------------------------------------------- the period


@dataclass(frozen=True)
class Period:
    """From `first` to `last` (JST calendar dates, both included)."""

    first: date
    last: date

    @property
    def start(self):
        """The first instant, as stored (naive UTC): 00:00 JST of `first`."""
        return datetime.combine(self.first, time()) - JST_OFFSET

    @property
    def end(self):
        """The instant after the period (naive UTC): 00:00 JST of the day after `last`."""
        return datetime.combine(self.last + timedelta(days=1), time()) - JST_OFFSET

    def holds(self, column):
        """SQL: the stored UTC timestamp `column` falls in the period."""
        return and_(column >= self.start, column < self.end)

    def as_dict(self):
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _years_after(day, years):
    """The same date `years` later (29 February becomes 1 March)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def make_period(first, last, now):
    """The period between two dates; a missing end is today (JST), a missing start
    DEFAULT_DAYS before the end. InvalidInput (details.reason) when it makes no sense."""
    for field, day in (("from", first), ("to", last)):
        if day is not None and not EARLIEST.date() <= day < LATEST.date():
            raise InvalidInput(f"Give '{field}' as a date from {EARLIEST:%Y-%m-%d} to "
                               f"{LATEST - timedelta(days=1):%Y-%m-%d}.",
                               {"field": field, "reason": "out_of_range"})
    last = last or to_jst(now).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidInput("The end date is before the start date.",
                           {"field": "to", "reason": "end_before_start"})
    if last >= _years_after(first, MAX_YEARS):
        raise InvalidInput(f"A period is at most {MAX_YEARS} years long.",
                           {"field": "to", "reason": "too_long", "max_years": MAX_YEARS})
    return Period(first, last)


def _parse_date(text, field):
    """A YYYY-MM-DD date, None for a blank, InvalidInput for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"Give '{field}' as a date YYYY-MM-DD.",
                           {"field": field, "reason": "not_a_date"}) from exc


def parse_period(first_text, last_text, now):
    """make_period from the texts of a query string or a command line."""
    return make_period(_parse_date(first_text, "from"), _parse_date(last_text, "to"), now)


# ---------------------------------------------------------------- the metrics' rows


def _all():
    return literal_column(f"'{ALL}'", String)


def _rows(incident_id, key, value=None):
    """The three columns every metric selects."""
    value = cast(null(), Integer) if value is None else value
    return incident_id.label("incident_id"), key.label("key"), value.label("value")


def _seconds(later, earlier):
    """SQL: seconds from `earlier` to `later` (PostgreSQL and SQLite alike)."""
    return extract("epoch", later) - extract("epoch", earlier)


def _jst_midnight_epoch(column):
    """SQL: epoch seconds of 00:00 of the JST date of a stored UTC timestamp, so it can be
    compared with a date's epoch (both whole days)."""
    local = extract("epoch", column) + int(JST_OFFSET.total_seconds())
    return local - local % DAY_SECONDS


def _received(period, now):
    return select(*_rows(Incident.id, _all())).where(period.holds(Incident.created_at))


def _by_category(period, now):
    return select(*_rows(Incident.id, Incident.category)).where(
        period.holds(Incident.created_at))


def _by_prefecture(period, now):
    return select(*_rows(Incident.id, cast(Organization.prefecture, String))).join(
        Organization, Organization.id == Incident.organization_id).where(
        period.holds(Incident.created_at))


def clock_seconds(name):
    """(incident_id, seconds) of every clock `name` stopped by its event (met or missed)."""
    return select(SlaClock.incident_id, _seconds(SlaClock.stopped_at, SlaClock.started_at)
                  .label("seconds")).where(SlaClock.name == name, SlaClock.outcome.in_(STOPPED))


def _clock_duration(name):
    """Rows of stopped clocks `name` started in the period, valued in seconds."""
    def rows(period, now):
        durations = clock_seconds(name).where(period.holds(SlaClock.started_at)).subquery()
        return select(*_rows(durations.c.incident_id, _all(), durations.c.seconds))
    return rows


def _clocks_started(period, now):
    return select(*_rows(SlaClock.incident_id, SlaClock.name)).where(
        period.holds(SlaClock.started_at))


def _clocks_breached(period, now):
    """Missed (stopped late), or running past its due instant at `now`."""
    late = or_(SlaClock.outcome == "missed",
               and_(SlaClock.outcome == "running", SlaClock.due_at <= now))
    return _clocks_started(period, now).where(late)


def approved_costs():
    """(incident_id, yen) per incident with approved cost lines: their sum excluding tax."""
    return select(CostItem.incident_id, func.sum(CostItem.amount).label("yen")).where(
        CostItem.status == "approved").group_by(CostItem.incident_id)


def _cost(period, now):
    """One row per incident received in the period with approved costs, valued in yen."""
    costs = approved_costs().subquery()
    return select(*_rows(costs.c.incident_id, _all(), costs.c.yen)).join(
        Incident, Incident.id == costs.c.incident_id).where(period.holds(Incident.created_at))


def _claim_cycle(period, now):
    """Claims paid in the period: days from the first packet (JST date) to the payment date."""
    first = select(ClaimPacket.claim_id, func.min(ClaimPacket.created_at).label("at")).group_by(
        ClaimPacket.claim_id).subquery()
    days = (extract("epoch", Claim.paid_on) - _jst_midnight_epoch(first.c.at)) / DAY_SECONDS
    return select(*_rows(Claim.incident_id, _all(), days)).join(
        first, first.c.claim_id == Claim.id).where(
        Claim.paid_on >= period.first, Claim.paid_on <= period.last)


def _alert_incidents(period, now):
    """Incidents opened or joined by the alerts first seen in the period, by alert severity."""
    return select(*_rows(Alert.incident_id, Alert.severity)).where(
        Alert.incident_id.is_not(None), period.holds(Alert.first_seen_at))


@dataclass(frozen=True)
class Metric:
    """A named query definition: rows(period, now) and the keys one may drill into."""

    name: str
    rows: object
    keys: tuple = ()
    median: bool = False


METRICS = {m.name: m for m in (
    Metric("received", _received),
    Metric("category", _by_category, CATEGORIES),
    Metric("prefecture", _by_prefecture, tuple(str(code) for code in range(1, 48))),
    Metric("mtta", _clock_duration("first_response"), median=True),
    Metric("time_to_site", _clock_duration("arrival"), median=True),
    Metric("sla_started", _clocks_started, CLOCK_NAMES),
    Metric("sla_breached", _clocks_breached, CLOCK_NAMES),
    Metric("cost", _cost),
    Metric("claim_cycle", _claim_cycle, median=True),
    Metric("alert_incidents", _alert_incidents, SEVERITIES),
)}


def metric_named(name, key=ALL):
    """The metric, after checking that `key` is one of its keys; InvalidInput otherwise."""
    metric = METRICS.get(name)
    if metric is None:
        raise InvalidInput("Unknown metric.", {"field": "metric", "allowed": list(METRICS)})
    if key != ALL and key not in metric.keys:
        raise InvalidInput("Unknown key for this metric.",
                           {"field": "key", "allowed": [ALL, *metric.keys]})
    return metric


# ---------------------------------------------------------------- figures


@dataclass
class Figure:
    """One number of the dashboard and what it aggregates."""

    metric: str
    key: str
    count: int  # distinct incidents behind it: the drill-down list's length
    total: float | None = None
    mean: float | None = None
    median: float | None = None

    @property
    def per_incident(self):
        """The total shared by the incidents, rounded down (yen per incident)."""
        return int(self.total or 0) // self.count if self.count else None


def _number(value):
    return None if value is None else float(value)


def _keyed(rows, key):
    """The rows of one key (all of them for "all"), as a subquery."""
    sub = rows.subquery()
    return sub, (sub.c.key == key if key != ALL else None)


def _median(rows, key, count):
    """The middle value (mean of the two middle ones) without fetching the others."""
    if not count:
        return None
    sub, condition = _keyed(rows, key)
    stmt = select(sub.c.value).order_by(sub.c.value).offset((count - 1) // 2).limit(
        2 - count % 2)
    if condition is not None:
        stmt = stmt.where(condition)
    values = [float(v) for v in db.session.scalars(stmt)]
    return sum(values) / len(values)


def _aggregates(rows):
    """(key, count, total, mean) per key, then the same for "all"."""
    sub = rows.subquery()
    measures = (func.count(distinct(sub.c.incident_id)), func.sum(sub.c.value),
                func.avg(sub.c.value))
    by_key = db.session.execute(select(sub.c.key, *measures).group_by(sub.c.key)).all()
    overall = db.session.execute(select(*measures)).one()
    return [*by_key, (ALL, *overall)]


def _figures(metric, period, now):
    rows = metric.rows(period, now)
    figures = []
    for key, count, total, mean in _aggregates(rows):
        figure = Figure(metric.name, str(key), count, _number(total), _number(mean))
        if metric.median:
            figure.median = _median(rows, figure.key, count)
        figures.append(figure)
    return figures


@dataclass
class Dashboard:
    """Every figure of a period, by (metric, key); absent keys count zero."""

    period: Period
    now: datetime
    figures: dict
    alerts: dict  # {severity or "all": (alerts, occurrences)}

    def get(self, metric, key=ALL):
        return self.figures.get((metric, key)) or Figure(metric, key, 0)

    def breach_rate(self, clock=ALL):
        """Missed or breached / started, for a clock name (or all), None when none started."""
        started = self.get("sla_started", clock).count
        return self.get("sla_breached", clock).count / started if started else None


def alert_volume(period):
    """{severity: (alerts, occurrences)} of the alerts first seen in the period, and "all"."""
    measures = (func.count(Alert.id), func.coalesce(func.sum(Alert.count), 0))
    where = period.holds(Alert.first_seen_at)
    volume = {severity: (alerts, int(repeats)) for severity, alerts, repeats in
              db.session.execute(select(Alert.severity, *measures).where(where)
                                 .group_by(Alert.severity))}
    alerts, repeats = db.session.execute(select(*measures).where(where)).one()
    volume[ALL] = (alerts, int(repeats))
    return volume


def compute(period, now):
    """All the dashboard's figures for the period, as of `now` (running clocks past due)."""
    figures = {}
    for metric in METRICS.values():
        for figure in _figures(metric, period, now):
            figures[(figure.metric, figure.key)] = figure
    return Dashboard(period, now, figures, alert_volume(period))


# ---------------------------------------------------------------- drill-down


def incident_ids(metric_name, key, period, now):
    """SELECT of the distinct incident ids behind the figure (metric, key)."""
    metric = metric_named(metric_name, key)
    sub, condition = _keyed(metric.rows(period, now), key)
    stmt = select(sub.c.incident_id).distinct()
    return stmt if condition is None else stmt.where(condition)


def drill_down(metric_name, key, period, now, cursor=None, limit=50):
    """The incidents behind a figure, newest first, a page at a time (keyset on id)."""
    stmt = select(Incident).where(Incident.id.in_(incident_ids(metric_name, key, period, now)))
    return incident_page(stmt, cursor, limit)
