"""Incident endpoints: create, list, get, correct, fire a transition, add a note, tick
triage, link, mark a personal-data leak and record its reports."""

from flask import current_app, g
from flask_openapi3 import Tag

from app.access import get_incident_for
from app.api import bp
from app.api import serializers as out
from app.api.schemas import (
    ErrorResponse,
    IncidentCorrection,
    IncidentCreate,
    IncidentCreated,
    IncidentDetail,
    IncidentListQuery,
    IncidentPage,
    IncidentPath,
    LeakMarkRequest,
    LeakReportRequest,
    LeakUnmarkQuery,
    LinkRequest,
    NoteCreated,
    NoteRequest,
    TransitionRequest,
    TriageCheckRequest,
)
from app.auth import rate_limit_key_for_token
from app.domain.timeutil import utcnow
from app.extensions import db, limit_setting, limiter
from app.services.incidents.corrections import correct_incident
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.incidents.leaks import mark_leak, record_leak_report, unmark_leak
from app.services.incidents.lifecycle import fire_trigger
from app.services.incidents.links import link_incidents
from app.services.incidents.notes import add_note
from app.services.incidents.queries import list_incidents
from app.services.incidents.sla import clocks_by_incident
from app.services.incidents.triage import record_check
from workflows import INCIDENT

TAG = Tag(name="incidents", description="Incidents and their lifecycle")


@bp.post("/incidents", tags=[TAG], responses={201: IncidentCreated, 429: ErrorResponse})
@limiter.limit(limit_setting("RATELIMIT_API_INTAKE_PER_TOKEN"), key_func=rate_limit_key_for_token)
def create_incident(body: IncidentCreate):
    """Report an incident; it starts in `received` with a reference INC-YYYY-NNNNNN."""
    incident = report_incident(IntakeRequest(
        organization_id=body.organization_id, channel=body.channel, category=body.category,
        severity=body.severity, summary=body.summary, description=body.description,
        reporter_name=body.reporter.name, reporter_phone=body.reporter.phone,
        reporter_email=body.reporter.email or "", discovered_at=body.discovered_at,
        occurred_at=body.occurred_at, discovery_source=body.discovery_source,
    ), actor=g.api_user, commit=False)
    # The answer is read from the flushed incident before the commit, not reloaded after
    # it: a reload costs a query, and a database lost right after the commit would turn a
    # stored incident into a 503 whose retry stores it twice.
    created = {"id": incident.id, "reference": incident.reference, "state": incident.state,
               "version": incident.version}
    db.session.commit()
    return created, 201


@bp.get("/incidents", tags=[TAG], responses={200: IncidentPage})
def list_incidents_endpoint(query: IncidentListQuery):
    """Incidents you may see, newest first, filtered, a page at a time (follow next_cursor)."""
    limit, now = min(query.limit, current_app.config["API_PAGE_SIZE_MAX"]), utcnow()
    page = list_incidents(g.api_user, query.model_dump(), cursor=query.cursor, limit=limit,
                          now=now)
    clocks = clocks_by_incident([i.id for i in page.items])
    return {"items": [out.incident_summary(i, clocks.get(i.id, []), now) for i in page.items],
            "next_cursor": page.next_cursor}


@bp.get("/incidents/<int:incident_id>", tags=[TAG], responses={200: IncidentDetail})
def get_incident(path: IncidentPath):
    """One incident with its timeline and the triggers you may fire now."""
    return out.incident_detail(get_incident_for(g.api_user, path.incident_id), g.api_user)


@bp.patch("/incidents/<int:incident_id>", tags=[TAG],
          responses={200: IncidentDetail, 403: ErrorResponse, 409: ErrorResponse})
def correct_incident_endpoint(path: IncidentPath, body: IncidentCorrection):
    """Correct the incident's facts (only the fields sent); one `corrected` timeline event
    holds each field's before and after. A version other than the current one is a 409;
    nothing different from the current values is a 422 `nothing_changed`."""
    changes = body.model_dump(exclude_unset=True, exclude={"version", "reason", "completed",
                                                          "reporter"})
    for name, value in body.model_dump(exclude_unset=True).get("reporter", {}).items():
        changes[f"reporter_{name}"] = value
    incident = correct_incident(path.incident_id, changes, version=body.version,
                                reason=body.reason or "", actor=g.api_user,
                                completed=bool(body.completed))
    return out.incident_detail(incident, g.api_user)


@bp.post("/incidents/<int:incident_id>/links", tags=[TAG],
         responses={201: IncidentDetail, 403: ErrorResponse, 409: ErrorResponse})
def create_link(path: IncidentPath, body: LinkRequest):
    """Link this incident to another: `duplicate_of` cancels this one (reason "duplicate")
    and tells its reporter to follow the other; `related` only links. Both incidents show
    the link. Duplicates are of the same organization; the same link twice is a 409."""
    link_incidents(path.incident_id, body.incident_id, body.kind, actor=g.api_user)
    return out.incident_detail(get_incident_for(g.api_user, path.incident_id), g.api_user), 201


@bp.post("/incidents/<int:incident_id>/transitions", tags=[TAG],
         responses={200: IncidentDetail})
def transition_incident(path: IncidentPath, body: TransitionRequest):
    """Fire a workflow trigger; 409 names the state and the allowed triggers when refused."""
    params = body.model_dump(include=set(INCIDENT.params_of(body.trigger)))  # the trigger's
    if params.get("paid_on") is not None:
        params["paid_on"] = params["paid_on"].isoformat()
    incident = fire_trigger(path.incident_id, body.trigger, g.api_user, params=params,
                            note=body.note, expected_version=body.version)
    return out.incident_detail(incident, g.api_user)


@bp.post("/incidents/<int:incident_id>/notes", tags=[TAG], responses={201: NoteCreated})
def create_note(path: IncidentPath, body: NoteRequest):
    """Add a note to the incident's timeline."""
    event = add_note(path.incident_id, g.api_user, body.note,
                     share_with_insurer=body.share_with_insurer)
    return {"seq": event.seq, "version": event.incident.version}, 201


@bp.post("/incidents/<int:incident_id>/triage-checks", tags=[TAG],
         responses={201: NoteCreated})
def create_triage_check(path: IncidentPath, body: TriageCheckRequest):
    """Record a tick of the category's remote-triage checklist."""
    event = record_check(path.incident_id, g.api_user, body.item, body.checked)
    return {"seq": event.seq, "version": event.incident.version}, 201


@bp.post("/incidents/<int:incident_id>/personal-data-leak", tags=[TAG],
         responses={200: IncidentDetail})
def mark_personal_data_leak(path: IncidentPath, body: LeakMarkRequest):
    """Mark the incident as a personal-data leak: the legal report clocks start from its
    discovery (preliminary 5 days, final 30, or 60 when malicious)."""
    incident = mark_leak(g.api_user, path.incident_id, body.malicious,
                         expected_version=body.version)
    return out.incident_detail(incident, g.api_user)


@bp.delete("/incidents/<int:incident_id>/personal-data-leak", tags=[TAG],
           responses={200: IncidentDetail})
def unmark_personal_data_leak(path: IncidentPath, query: LeakUnmarkQuery):
    """Take back a mark set by mistake (refused once a report is recorded)."""
    incident = unmark_leak(g.api_user, path.incident_id, expected_version=query.version)
    return out.incident_detail(incident, g.api_user)


@bp.post("/incidents/<int:incident_id>/leak-reports", tags=[TAG],
         responses={200: IncidentDetail})
def create_leak_report(path: IncidentPath, body: LeakReportRequest):
    """Record the preliminary or final report to the commission; its clock stops then."""
    incident = record_leak_report(g.api_user, path.incident_id, body.kind, body.reported_at,
                                  expected_version=body.version)
    return out.incident_detail(incident, g.api_user)
