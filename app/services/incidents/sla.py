"""SLA clocks of incidents: started and stopped by the lifecycle, read by the pages and
reports, and paged to the dispatchers by the worker once near a breach and once in breach.

Targets come from the organization's contract active when the incident was received:
first response, technician acknowledgement and arrival follow the contract's desk hours
("24h" counts every minute, "business" only business hours of the Japanese business
calendar, app/domain/bizcal.py); claim submission always counts business days. A personal-data
leak adds the legal report deadlines of 個人情報保護委員会 (calendar days from discovery:
preliminary report near-due after 3 days and due after 5, final report due after 30 days,
60 when malicious). A clock is created once per incident (a released technician does not
restart the acknowledgement clock) and stopped in the same transaction as its stop event.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import selectinload

from app.domain.bizcal import add_business_minutes, minutes_per_day, parse_hours
from app.domain.timeutil import to_jst
from app.extensions import db
from app.models import Contract, Incident, SlaClock
from app.services.incidents.contact import note_not_texted
from notifications.outbox import page_role
from workflows.incident import FINAL_STATES

DAY = 24 * 60
LEAK_PRELIMINARY_WARN_DAYS, LEAK_PRELIMINARY_DUE_DAYS = 3, 5
LEAK_FINAL_DAYS, LEAK_FINAL_MALICIOUS_DAYS = 30, 60
LEAK_FINAL_WARN_DAYS_BEFORE = 7
LEAK_CLOCKS = ("leak_preliminary", "leak_final")
RUNNING_STATUSES = ("breached", "near", "ok")  # most urgent first

# Lifecycle clocks: (name, states entering which start it, states entering which stop it).
# The first-response clock starts at intake and stops when the incident leaves `received`
# by any trigger (triage, or a cancel: deciding it is a false positive is a response).
# Any clock still running when the incident ends (closed, cancelled) is withdrawn,
# except the legal leak clocks, which only the recorded reports stop.
LIFECYCLE_CLOCKS = (
    ("acknowledgement", ("dispatch_requested",), ("technician_assigned",)),
    ("arrival", ("dispatch_requested",), ("on_site",)),
    ("claim_submission", ("resolved_remotely", "onsite_completed"), ("claim_submitted",)),
)


def business_hours():
    """BUSINESS_HOURS of the configuration as (start, end) times."""
    return parse_hours(current_app.config["BUSINESS_HOURS"])


def warn_fraction():
    """SLA_WARN_FRACTION, checked: a warning must come after the start and before the due."""
    fraction = float(current_app.config["SLA_WARN_FRACTION"])
    if not 0 < fraction < 1:
        raise ValueError(f"SLA_WARN_FRACTION must be between 0 and 1, not {fraction}")
    return fraction


def contract_for(incident):
    """The contract active when the incident was received (on-site ones first), or None."""
    return contract_active_at(incident.organization_id, incident.created_at)


# Contract.active_on in SQL, of several an on-site one first, then the latest start (then
# the newest); built once, as every intake runs it.
_CONTRACT_ACTIVE_ON = select(Contract).where(
    Contract.organization_id == bindparam("organization_id"),
    Contract.starts_on <= bindparam("on"),
    or_(Contract.ends_on.is_(None), Contract.ends_on >= bindparam("on")),
).order_by(Contract.onsite_support.desc(), Contract.starts_on.desc(),
           Contract.id.desc()).limit(1)


def contract_active_at(organization_id, received_at):
    """The organization's contract active on the Japan date of `received_at` (naive UTC),
    or None; of several, an on-site one first, then the latest start (then the newest).
    One query returning at most one row."""
    return db.session.scalars(_CONTRACT_ACTIVE_ON, {
        "organization_id": organization_id, "on": to_jst(received_at).date()}).first()


def _target(contract, name):
    """(minutes, calendar) of a lifecycle clock under the contract."""
    if name == "claim_submission":
        return contract.sla_claim_business_days * minutes_per_day(business_hours()), "business"
    minutes = {"first_response": contract.sla_first_response_minutes,
               "acknowledgement": contract.sla_acknowledge_minutes,
               "arrival": contract.sla_onsite_minutes}[name]
    return minutes, "business" if contract.desk_hours == "business" else "24h"


def _after(start, minutes, calendar):
    """The instant `minutes` of the calendar after `start`."""
    if calendar == "business":
        return add_business_minutes(start, minutes, business_hours())
    return start + timedelta(minutes=minutes)


def _time(clock, started_at, minutes, calendar, warn_at=None):
    """Set a clock's start, target, due and warning instants (computed once, here)."""
    clock.calendar, clock.target_minutes, clock.started_at = calendar, minutes, started_at
    clock.due_at = _after(started_at, minutes, calendar)
    clock.warn_at = warn_at or _after(started_at, int(minutes * warn_fraction()), calendar)


def _start(incident, name, started_at, minutes, calendar, warn_at=None):
    """Create the clock unless the incident already has one of that name."""
    if any(clock.name == name for clock in incident.sla_clocks):
        return None
    clock = SlaClock(name=name, outcome="running")
    _time(clock, started_at, minutes, calendar, warn_at)
    incident.sla_clocks.append(clock)
    return clock


def _stop(clock, now, withdrawn=False):
    """Stop a running clock: met when on time, missed when late, or withdrawn."""
    if clock.outcome != "running":
        return
    clock.stopped_at = now
    clock.outcome = "withdrawn" if withdrawn else ("met" if now <= clock.due_at else "missed")


def start_for_intake(incident, now, contract):
    """The first-response clock of a new incident under `contract` (None: no clock).

    Intake looks the contract up (contract_active_at) before it builds the incident, so the
    query has nothing half-built to flush; a new incident has no clocks to load.
    """
    if contract is not None:
        _start(incident, "first_response", now, *_target(contract, "first_response"))


def on_transition(incident, from_state, to_state, now):
    """Start and stop the lifecycle clocks for one transition (the caller commits)."""
    clocks = {clock.name: clock for clock in incident.sla_clocks}
    if from_state == "received" and "first_response" in clocks:
        _stop(clocks["first_response"], now)
    contract = None
    for name, starts, stops in LIFECYCLE_CLOCKS:
        if to_state in stops and name in clocks:
            _stop(clocks[name], now)
        elif to_state in starts and name not in clocks:
            contract = contract or contract_for(incident)
            if contract is not None:
                _start(incident, name, now, *_target(contract, name))
    if to_state in FINAL_STATES:
        for clock in incident.sla_clocks:
            if clock.name not in LEAK_CLOCKS:
                _stop(clock, now, withdrawn=True)


def retime_running(incident, now):
    """After a correction of the facts the targets rest on (severity, organization): every
    running lifecycle clock gets the target of the contract the incident now falls under,
    measured from the clock's original start; stopped clocks keep theirs.

    The contract's targets do not differ by severity, so a severity change alone moves no
    due time today; a corrected organization brings its own contract's targets. Under no
    contract the running lifecycle clocks are withdrawn; a first-response clock missing for
    want of a contract starts from the intake while the incident is still `received`. A
    clock whose due time moves owes its pages again. The leak clocks run from discovery
    under the law, whatever the contract.
    """
    contract = contract_for(incident)
    for clock in incident.sla_clocks:
        if clock.outcome != "running" or clock.name in LEAK_CLOCKS:
            continue
        if contract is None:
            _stop(clock, now, withdrawn=True)
            continue
        due_before = clock.due_at
        _time(clock, clock.started_at, *_target(contract, clock.name))
        if clock.due_at != due_before:
            clock.warned_at = clock.breach_paged_at = None
    if contract is not None and incident.state == "received":
        _start(incident, "first_response", incident.created_at,
               *_target(contract, "first_response"))


# ---------------------------------------------------------------- personal-data leaks

def _leak_targets(incident):
    """{name: (target minutes, warn_at)} of the legal report clocks, from discovery."""
    start = incident.discovered_at
    days = LEAK_FINAL_MALICIOUS_DAYS if incident.leak_malicious else LEAK_FINAL_DAYS
    return {"leak_preliminary": (LEAK_PRELIMINARY_DUE_DAYS * DAY,
                                 start + timedelta(days=LEAK_PRELIMINARY_WARN_DAYS)),
            "leak_final": (days * DAY,
                           start + timedelta(days=days - LEAK_FINAL_WARN_DAYS_BEFORE))}


def _restart(clock, incident, minutes, warn_at):
    """Run a clock again from discovery, as if new (its pages are owed again)."""
    _time(clock, incident.discovered_at, minutes, "24h", warn_at)
    clock.outcome, clock.stopped_at = "running", None
    clock.warned_at = clock.breach_paged_at = None


def start_leak_clocks(incident):
    """The legal report clocks of a personal-data leak, from its discovery.

    Clocks withdrawn by an earlier unmarking run again (a clock exists once per incident).
    """
    existing = {clock.name: clock for clock in incident.sla_clocks}
    for name, (minutes, warn_at) in _leak_targets(incident).items():
        clock = existing.get(name)
        if clock is None:
            _start(incident, name, incident.discovered_at, minutes, "24h", warn_at)
        elif clock.outcome == "withdrawn":
            _restart(clock, incident, minutes, warn_at)


def retime_leak_final(incident):
    """After the malicious flag changed: the running final-report clock gets its new due."""
    minutes, warn_at = _leak_targets(incident)["leak_final"]
    for clock in incident.sla_clocks:
        if clock.name == "leak_final" and clock.outcome == "running":
            _restart(clock, incident, minutes, warn_at)


def retime_leak_running(incident):
    """After the discovery time was corrected: the running leak clocks count from the new
    discovery (the law's deadlines run from when the leak became known); stopped ones stay."""
    targets = _leak_targets(incident)
    for clock in incident.sla_clocks:
        if clock.name in targets and clock.outcome == "running":
            due_before = clock.due_at
            minutes, warn_at = targets[clock.name]
            _time(clock, incident.discovered_at, minutes, "24h", warn_at)
            if clock.due_at != due_before:
                clock.warned_at = clock.breach_paged_at = None


def stop_leak_clock(incident, name, reported_at):
    """Stop a leak clock at the time its report was made."""
    for clock in incident.sla_clocks:
        if clock.name == name:
            _stop(clock, reported_at)


def withdraw_leak_clocks(incident, now):
    """The incident turned out not to be a personal-data leak."""
    for clock in incident.sla_clocks:
        if clock.name in LEAK_CLOCKS:
            _stop(clock, now, withdrawn=True)


# ---------------------------------------------------------------- reading

def clocks_by_incident(incident_ids):
    """{incident id: [clocks]} for a page of incidents, in one query."""
    found = {}
    if incident_ids:
        for clock in db.session.scalars(select(SlaClock).where(
                SlaClock.incident_id.in_(list(incident_ids))).order_by(SlaClock.id)):
            found.setdefault(clock.incident_id, []).append(clock)
    return found


@dataclass(frozen=True)
class RunningClock:
    """A running clock as a list shows it: its status, and the whole minutes left until
    its deadline, or (left is None) the whole minutes it is overdue."""

    clock: SlaClock
    status: str
    left: int | None
    overdue: int | None


def as_running(clock, now):
    """A running clock's RunningClock at `now`."""
    seconds = (clock.due_at - now).total_seconds()
    if seconds > 0:
        return RunningClock(clock, clock.status(now), int(seconds // 60), None)
    return RunningClock(clock, clock.status(now), None, int(-seconds // 60))


def running_by_urgency(clocks, now):
    """The running clocks of `clocks`, the nearest deadline first, as RunningClock."""
    running = sorted((c for c in clocks if c.outcome == "running"), key=lambda c: c.due_at)
    return [as_running(clock, now) for clock in running]


def worst_status(clocks, now):
    """The most urgent status of running clocks: breached, near, ok, or None (none run)."""
    statuses = {clock.status(now) for clock in clocks}
    return next((s for s in RUNNING_STATUSES if s in statuses), None)


def _running_ids(condition):
    return select(SlaClock.incident_id).where(SlaClock.outcome == "running", condition)


def incidents_with_status(status, now):
    """A subquery of the ids of incidents whose worst running clock has `status`
    (breached or near), the same answer as worst_status, for filtering a list in SQL."""
    breached = _running_ids(SlaClock.due_at <= now)
    if status == "breached":
        return breached
    if status == "near":
        return _running_ids(and_(SlaClock.warn_at <= now, SlaClock.due_at > now)).where(
            SlaClock.incident_id.not_in(breached))
    raise ValueError(f"no list filter for SLA status {status!r}")


# ---------------------------------------------------------------- paging

def due_pages(now, limit=100):
    """Running clocks whose near-breach or breach page is due, locked for this worker."""
    query = select(SlaClock).where(
        SlaClock.outcome == "running",
        or_(and_(SlaClock.warn_at <= now, SlaClock.warned_at.is_(None)),
            and_(SlaClock.due_at <= now, SlaClock.breach_paged_at.is_(None))),
    ).order_by(SlaClock.warn_at, SlaClock.id).limit(limit).options(
        selectinload(SlaClock.incident).selectinload(Incident.organization))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return db.session.scalars(query).all()


def page_due(now):
    """Page the dispatchers once about each new near-breach and breach; commit; how many.

    Two workers never page about one clock twice: on PostgreSQL each locks the clocks it
    takes (SKIP LOCKED), and the messages' dedupe keys name the clock, the level and the
    due instant, so even a repeated pass adds no second message for the same deadline.
    """
    clocks = due_pages(now)
    for clock in clocks:
        level = "breached" if now >= clock.due_at else "near"
        incident = clock.incident
        context = {"reference": incident.reference, "organization": incident.organization.name,
                   "clock": clock.name, "level": level,
                   "due_at": to_jst(clock.due_at).strftime("%Y-%m-%d %H:%M"),
                   "url": current_app.config["PUBLIC_BASE_URL"].rstrip("/")
                   + f"/desk/incidents/{incident.id}"}
        not_texted = []
        page_role("dispatcher", "sla_alert", context, incident=incident,
                  key=f"sla:{clock.id}:{level}:{clock.due_at:%Y%m%d%H%M}", now=now,
                  not_texted=not_texted)
        note_not_texted(incident, not_texted, now)
        if level == "breached":
            clock.breach_paged_at = now
            clock.warned_at = clock.warned_at or now  # a breach says more than a warning
        else:
            clock.warned_at = now
    db.session.commit()
    return len(clocks)
