"""Personal-data leaks (個人情報漏えい): marking an incident, recording its reports to
個人情報保護委員会, and taking back a mark set by mistake.

Marking starts the legal report clocks from the discovery time (app/services/incidents/sla.py).
Decisions, each a clear refusal that changes nothing when broken:
- desk, dispatcher and admin do this, on any incident they see, in any state (a leak
  can come to light after an incident was closed, and the legal deadlines still run);
- marking a marked incident again only changes the malicious flag, and with it the
  final-report deadline (30 or 60 days); the same flag again is a 409;
- a report is recorded with the time it was made: not in the future, not before the
  discovery, once per kind. The final report needs the preliminary one first and is not
  earlier than it: a report that serves as both (the commission accepts one when every
  item is known at once) is recorded as preliminary, then final, at the same time;
- a mark is taken back only while no report is recorded (once the commission has been
  told, the leak is no mistake); its running clocks are withdrawn.
Every change is a "leak" event on the timeline, with the incident's optimistic version:
a stale `expected_version` or a concurrent writer is a 409.
"""

from app import access
from app.access import get_incident_for
from app.domain.timeutil import isoformat_utc, to_utc_naive, utcnow
from app.errors import ConcurrentUpdate, Conflict, InvalidInput
from app.services.actors import label_for
from app.services.incidents import sla
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict

REPORT_KINDS = ("preliminary", "final")


def _load(actor, incident_id, expected_version):
    """The incident, if the actor may see it and record leaks, at the version they saw."""
    incident = get_incident_for(actor, incident_id)
    access.require(actor, "incidents.leaks")
    if expected_version is not None and expected_version != incident.version:
        raise ConcurrentUpdate(incident.reference)
    return incident


def _record(incident, actor, now, action, **data):
    """The timeline event of the change, committed with it."""
    append_event(incident, kind="leak", actor=actor, actor_label=label_for(actor, ""),
                 now=now, data={"action": action, **data})
    commit_or_conflict(incident)
    return incident


def mark_leak(actor, incident_id, malicious, now=None, expected_version=None):
    """Mark the incident as a personal-data leak (or change its malicious flag)."""
    now, malicious = now or utcnow(), bool(malicious)
    incident = _load(actor, incident_id, expected_version)
    if incident.personal_data_leak:
        if incident.leak_malicious == malicious:
            raise Conflict("The incident is already marked as a personal-data leak.",
                           {"reason": "already_marked", "malicious": malicious})
        incident.leak_malicious = malicious
        sla.retime_leak_final(incident)
        return _record(incident, actor, now, "malicious_changed", malicious=malicious)
    incident.personal_data_leak, incident.leak_malicious = True, malicious
    sla.start_leak_clocks(incident)
    return _record(incident, actor, now, "marked", malicious=malicious)


def _report_refusal(incident, kind, reported_at, now):
    """Why this report cannot be recorded now, as the error to raise; None when it can."""
    if reported_at > now:
        return InvalidInput("The report time is in the future.",
                            {"field": "reported_at", "reason": "in_future"})
    if not incident.personal_data_leak:
        return Conflict("The incident is not marked as a personal-data leak.",
                        {"reason": "not_marked"})
    if getattr(incident, f"leak_{kind}_reported_at") is not None:
        return Conflict(f"The {kind} report is already recorded.",
                        {"reason": "already_reported", "kind": kind})
    if reported_at < incident.discovered_at:
        return InvalidInput("The report time is before the leak was discovered.",
                            {"field": "reported_at", "reason": "before_discovery"})
    if kind == "final":
        preliminary = incident.leak_preliminary_reported_at
        if preliminary is None:
            return Conflict("Record the preliminary report first.",
                            {"reason": "preliminary_first"})
        if reported_at < preliminary:
            return InvalidInput("The final report cannot be earlier than the preliminary one.",
                                {"field": "reported_at", "reason": "before_preliminary"})
    return None


def record_leak_report(actor, incident_id, kind, reported_at, now=None,
                       expected_version=None):
    """Record that the preliminary or final report was made; its clock stops then."""
    now = now or utcnow()
    if kind not in REPORT_KINDS:
        raise InvalidInput("The report kind is preliminary or final.",
                           {"field": "kind", "allowed": list(REPORT_KINDS)})
    incident = _load(actor, incident_id, expected_version)
    reported_at = to_utc_naive(reported_at)
    refusal = _report_refusal(incident, kind, reported_at, now)
    if refusal is not None:
        raise refusal
    setattr(incident, f"leak_{kind}_reported_at", reported_at)
    sla.stop_leak_clock(incident, f"leak_{kind}", reported_at)
    return _record(incident, actor, now, f"{kind}_reported",
                   reported_at=isoformat_utc(reported_at))


def unmark_leak(actor, incident_id, now=None, expected_version=None):
    """Take back a mark set by mistake: the leak clocks are withdrawn."""
    now = now or utcnow()
    incident = _load(actor, incident_id, expected_version)
    if not incident.personal_data_leak:
        raise Conflict("The incident is not marked as a personal-data leak.",
                       {"reason": "not_marked"})
    if incident.leak_preliminary_reported_at is not None:
        raise Conflict("A report to the commission is recorded; the mark stays.",
                       {"reason": "reported"})
    incident.personal_data_leak = incident.leak_malicious = False
    sla.withdraw_leak_clocks(incident, now)
    return _record(incident, actor, now, "unmarked")
