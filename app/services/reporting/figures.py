"""The figures of a monthly report, one section each, counted for a JST calendar month.

Each function takes an organization id and a `Month` and returns a plain JSON-ready dict;
app/services/reporting/monthly.py puts them together. docs/reports.md defines every figure.
"""

import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select

from app.domain import payout
from app.domain.timeutil import JST, to_utc_naive
from app.errors import InvalidInput
from app.extensions import db
from app.models import Alert, Claim, CostItem, Dispatch, Incident, IncidentEvent, SlaClock
from app.models.incident import CATEGORIES, CHANNELS, SEVERITIES
from app.models.sla import CLOCK_NAMES

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
# Tax is computed once per document and rate, as on claim documents: the computation of
# app/domain/payout.py with a policy that covers nothing gives exactly those totals.
NO_COVER = payout.PolicyTerms(per_incident_limit=0, annual_aggregate=0, deductible=0)


@dataclass(frozen=True)
class Month:
    """A JST calendar month and its bounds as stored (naive UTC, end exclusive)."""

    text: str
    first_day: date
    last_day: date
    start: datetime
    end: datetime


def parse_month(text):
    """A "YYYY-MM" month; InvalidInput naming the field for anything else."""
    match = MONTH.fullmatch(str(text or "").strip())
    if match is None or not 2000 <= int(match.group(1)) <= 2999:
        raise InvalidInput("Give the month as YYYY-MM, e.g. 2026-10.",
                           {"field": "month", "value": str(text)[:20]})
    year, number = int(match.group(1)), int(match.group(2))
    following = date(year + number // 12, number % 12 + 1, 1)
    first = date(year, number, 1)
    return Month(text=match.group(0), first_day=first,
                 last_day=date.fromordinal(following.toordinal() - 1),
                 start=_jst_midnight(first), end=_jst_midnight(following))


def _jst_midnight(day):
    return to_utc_naive(datetime(day.year, day.month, day.day, tzinfo=JST))


def _in(column, period):
    return (column >= period.start) & (column < period.end)


# ---------------------------------------------------------------- one section each


def alerts(org_id, period):
    """Alerts first seen in the month: how many, and how often they fired (repeats)."""
    rows = db.session.execute(
        select(Alert.severity, Alert.source, func.count(Alert.id), func.sum(Alert.count))
        .where(Alert.organization_id == org_id, _in(Alert.first_seen_at, period))
        .group_by(Alert.severity, Alert.source)).all()
    severities, sources = {s: [0, 0] for s in SEVERITIES}, {}
    for severity, source, number, occurrences in rows:
        for bucket in (severities.setdefault(severity, [0, 0]),
                       sources.setdefault(source, [0, 0])):
            bucket[0] += number
            bucket[1] += int(occurrences or 0)
    ranked = sorted(sources.items(), key=lambda item: (-item[1][0], item[0]))
    return {"alerts": sum(a for a, _ in severities.values()),
            "occurrences": sum(o for _, o in severities.values()),
            "by_severity": [{"severity": k, "alerts": a, "occurrences": o}
                            for k, (a, o) in severities.items()],
            "by_source": [{"source": k, "alerts": a, "occurrences": o} for k, (a, o) in ranked]}


def incidents(org_id, period):
    """Incidents received in the month by category, severity and channel (zeros included)."""
    rows = db.session.execute(
        select(Incident.category, Incident.severity, Incident.channel, func.count(Incident.id))
        .where(Incident.organization_id == org_id, _in(Incident.created_at, period))
        .group_by(Incident.category, Incident.severity, Incident.channel)).all()
    counts = {"category": dict.fromkeys(CATEGORIES, 0), "severity": dict.fromkeys(SEVERITIES, 0),
              "channel": dict.fromkeys(CHANNELS, 0)}
    for category, severity, channel, count in rows:
        for name, value in (("category", category), ("severity", severity),
                            ("channel", channel)):
            counts[name][value] = counts[name].get(value, 0) + count
    return {"received": sum(counts["category"].values()),
            **{f"by_{name}": [{name: key, "count": n} for key, n in found.items()]
               for name, found in counts.items()}}


def _minutes(start, stop):
    return int((stop - start).total_seconds() // 60)


def _median_and_longest(values):
    """(median rounded down, longest) of whole minutes, or (None, None) for none."""
    if not values:
        return None, None
    return int(statistics.median(values)), max(values)


def sla(org_id, period, now):
    """Each SLA clock of the incidents received in the month, by its outcome at `now`."""
    clocks = db.session.scalars(
        select(SlaClock).join(Incident, SlaClock.incident_id == Incident.id)
        .where(Incident.organization_id == org_id, _in(Incident.created_at, period))
        .order_by(SlaClock.id)).all()
    rows = []
    for name in CLOCK_NAMES:
        named = [c for c in clocks if c.name == name]
        if not named:
            continue
        statuses = [c.status(now) for c in named]
        stopped = [_minutes(c.started_at, c.stopped_at) for c in named
                   if c.outcome in ("met", "missed")]
        median, longest = _median_and_longest(stopped)
        rows.append({"clock": name, "count": len(named), "met": statuses.count("met"),
                     "missed": statuses.count("missed"), "breached": statuses.count("breached"),
                     "running": statuses.count("ok") + statuses.count("near"),
                     "withdrawn": statuses.count("withdrawn"),
                     "median_minutes": median, "longest_minutes": longest})
    return {"clocks": rows}


def dispatches(org_id, period):
    """Visits offered in the month and the time from the request to the arrival.

    A visit is an offer the technician answered without declining (an accepted one,
    whatever became of it later).
    """
    visits = db.session.scalars(
        select(Dispatch).join(Incident, Dispatch.incident_id == Incident.id)
        .where(Incident.organization_id == org_id, _in(Dispatch.offered_at, period),
               Dispatch.responded_at.is_not(None), Dispatch.state != "declined")
        .order_by(Dispatch.id)).all()
    requests = _dispatch_requests({v.incident_id for v in visits})
    waits = [_minutes(_requested_before(requests.get(v.incident_id, []), v.offered_at),
                      v.arrived_at) for v in visits if v.arrived_at is not None]
    median, longest = _median_and_longest(waits)
    return {"visits": len(visits), "arrived": len(waits),
            "median_request_to_arrival_minutes": median,
            "longest_request_to_arrival_minutes": longest}


def _dispatch_requests(incident_ids):
    """{incident id: [times it entered dispatch_requested]}, oldest first."""
    found = {}
    if incident_ids:
        for incident_id, at in db.session.execute(
                select(IncidentEvent.incident_id, IncidentEvent.occurred_at)
                .where(IncidentEvent.incident_id.in_(sorted(incident_ids)),
                       IncidentEvent.to_state == "dispatch_requested")
                .order_by(IncidentEvent.occurred_at)):
            found.setdefault(incident_id, []).append(at)
    return found


def _requested_before(request_times, offered_at):
    """The request an offer answered: the last one at or before it (else the offer itself)."""
    return max((t for t in request_times if t <= offered_at), default=offered_at)


def costs(org_id, period):
    """Approved cost lines incurred in the month; tax once per rate over them all."""
    items = db.session.scalars(
        select(CostItem).join(Incident, CostItem.incident_id == Incident.id)
        .where(Incident.organization_id == org_id,
               CostItem.incurred_on.between(period.first_day, period.last_day))
        .order_by(CostItem.id)).all()
    approved = [item for item in items if item.status == "approved"]
    computation = payout.compute(NO_COVER, payout.lines_of(approved))
    heads = {}
    for item in approved:
        head = heads.setdefault(item.head.code, {
            "head": item.head.code, "name_ja": item.head.name_ja, "name_en": item.head.name_en,
            "lines": 0, "amount": 0})
        head["lines"] += 1
        head["amount"] += item.amount
    return {"lines": len(approved), "draft_lines": sum(i.status == "draft" for i in items),
            "subtotal": computation.subtotal, "tax": computation.tax_total,
            "total": computation.claimed_total,
            "taxes": [{"rate": t.rate, "base": t.base, "tax": t.tax}
                      for t in computation.taxes],
            "by_head": sorted(heads.values(), key=lambda h: (-h["amount"], h["head"]))}


def claims(org_id, period):
    """Claims first submitted, approved, and paid in the month, with their amounts."""
    first_submitted = dict(db.session.execute(
        select(IncidentEvent.incident_id, func.min(IncidentEvent.occurred_at))
        .join(Incident, IncidentEvent.incident_id == Incident.id)
        .where(Incident.organization_id == org_id, IncidentEvent.trigger == "submit_claim")
        .group_by(IncidentEvent.incident_id)).all())
    submitted = [i for i, at in first_submitted.items() if period.start <= at < period.end]
    approved = set(db.session.scalars(
        select(IncidentEvent.incident_id).join(Incident, IncidentEvent.incident_id == Incident.id)
        .where(Incident.organization_id == org_id, IncidentEvent.trigger == "approve_claim",
               _in(IncidentEvent.occurred_at, period))))
    found = db.session.scalars(
        select(Claim).join(Incident, Claim.incident_id == Incident.id)
        .where(Incident.organization_id == org_id,
               or_(Claim.incident_id.in_(sorted(set(submitted) | approved)),
                   Claim.paid_on.between(period.first_day, period.last_day)))).all()
    sent = [c for c in found if c.incident_id in submitted]
    decided = [c for c in found if c.incident_id in approved]
    paid = [c for c in found if c.paid_on and period.first_day <= c.paid_on <= period.last_day]
    return {"submitted": len(sent), "claimed_amount": sum(c.claimed_amount for c in sent),
            "approved": len(decided),
            "approved_amount": sum(c.approved_amount or 0 for c in decided),
            "paid": len(paid), "paid_amount": sum(c.paid_amount or 0 for c in paid)}
