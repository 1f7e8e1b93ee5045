"""Desk console pages."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import access
from app.access import get_incident_for
from app.domain.labels import STATE_LABELS
from app.domain.phones import normalize_phone
from app.domain.timeutil import JST, to_utc_naive, utcnow
from app.domain.triage import checklist_for
from app.errors import AppError
from app.extensions import db
from app.models import Organization
from app.services.directory.organizations import organization_by_phone, organization_choices
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.incidents.leaks import mark_leak, record_leak_report, unmark_leak
from app.services.incidents.lifecycle import fire_trigger
from app.services.incidents.notes import add_note
from app.services.incidents.queries import FILTERS, list_incident_rows, notifications_by_dispatch
from app.services.incidents.sla import clocks_by_incident
from app.services.incidents.triage import checklist_state, record_check
from app.web.desk import bp
from app.web.desk.corrections import phone_intake_context
from app.web.desk.costs import cost_page_context
from app.web.desk.forms import (
    CheckForm,
    LeakMarkForm,
    LeakReportForm,
    LeakUnmarkForm,
    NoteForm,
    PhoneIntakeForm,
    TransitionForm,
)
from app.web.formutil import choices, flash_form_errors
from workflows import INCIDENT
from workflows.incident import STATES

PAGE_SIZE = 50


@bp.get("/")
def incidents():
    """The incident list, newest first, with filters and a next-page cursor."""
    filters = {name: request.args.get(name, "") for name in (*FILTERS, "sla", "organization")}
    if filters["organization_id"]:
        filters["organization_id"] = request.args.get("organization_id", type=int)
    now = utcnow()
    try:
        page = list_incident_rows(current_user, filters, cursor=request.args.get("cursor"),
                                  limit=PAGE_SIZE, now=now)
    except AppError as exc:
        flash(exc.message, "error")
        return redirect(url_for("desk.incidents"))
    return render_template("desk/incidents.html", page=page, filters=filters, states=STATES,
                           now=now, clocks=clocks_by_incident([i.id for i in page.items]))


@bp.get("/incidents/<int:incident_id>")
def incident(incident_id):
    """One incident: details, triage checklist, timeline, notes, and the allowed triggers."""
    item = get_incident_for(current_user, incident_id)
    triggers = INCIDENT.allowed_triggers(item.state, current_user.role)
    forms = {trigger: TransitionForm(formdata=None, trigger=trigger, version=item.version)
             for trigger in triggers}
    return render_template(
        "desk/incident.html", incident=item, forms=forms,
        trigger_fields={trigger: INCIDENT.params_of(trigger) for trigger in triggers},
        note_form=NoteForm(formdata=None), check_form=CheckForm(formdata=None),
        checklist=checklist_for(item.category), ticks=checklist_state(item),
        can_check=access.can(current_user, "incidents.triage") and item.state == "triaging",
        dispatch_notifications=notifications_by_dispatch(item.dispatches),
        now=utcnow(), leak_forms=_leak_forms(item), **cost_page_context(),
        sees_files=access.sees_incident_files(current_user, item),
        events=access.events_seen_by(current_user, item),
    )


def _leak_forms(item):
    """The leak forms the user may use on this incident (none for other roles)."""
    if not access.can(current_user, "incidents.leaks"):
        return {}
    forms = {"mark": LeakMarkForm(formdata=None, version=item.version)}
    if item.personal_data_leak:
        forms["report"] = LeakReportForm(formdata=None, version=item.version)
        forms["unmark"] = LeakUnmarkForm(formdata=None, version=item.version)
    return forms


def _back_to(incident_id):
    return redirect(url_for("desk.incident", incident_id=incident_id))


@bp.post("/incidents/<int:incident_id>/transition")
def transition(incident_id):
    """Press a trigger button."""
    form = TransitionForm()
    if not form.validate():
        flash_form_errors(form)
        return _back_to(incident_id)
    params = form.params(INCIDENT.params_of(form.trigger.data))
    try:
        item = fire_trigger(incident_id, form.trigger.data, current_user, params=params,
                            note=form.note.data or "", expected_version=form.version.data)
    except AppError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The incident is now: %(state)s", state=STATE_LABELS[item.state]), "success")
    return _back_to(incident_id)


def _attempt(incident_id, form, service, done, *args, **kwargs):
    """Validate the form, call the leak service; a refusal is flashed, nothing changed."""
    if not form.validate():
        flash_form_errors(form)
        return _back_to(incident_id)
    try:
        service(current_user, incident_id, *args, expected_version=form.version.data, **kwargs)
    except AppError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return _back_to(incident_id)


@bp.post("/incidents/<int:incident_id>/leak")
def leak_mark(incident_id):
    """Mark a personal-data leak, or change whether it was malicious."""
    form = LeakMarkForm()
    return _attempt(incident_id, form, mark_leak,
                    _("Marked as a personal-data leak; the report deadlines are running."),
                    form.malicious.data)


@bp.post("/incidents/<int:incident_id>/leak/reports")
def leak_report(incident_id):
    """Record the preliminary or final report to the commission."""
    form = LeakReportForm()
    reported_at = form.reported_at.data
    return _attempt(incident_id, form, record_leak_report, _("The report is recorded."),
                    form.kind.data,
                    to_utc_naive(reported_at.replace(tzinfo=JST)) if reported_at else None)


@bp.post("/incidents/<int:incident_id>/leak/unmark")
def leak_unmark(incident_id):
    """Take back a leak mark set by mistake."""
    return _attempt(incident_id, LeakUnmarkForm(), unmark_leak,
                    _("The personal-data leak mark is taken back."))


@bp.post("/incidents/<int:incident_id>/notes")
def note(incident_id):
    """Add a note."""
    form = NoteForm()
    if not form.validate():
        flash_form_errors(form)
        return _back_to(incident_id)
    try:
        add_note(incident_id, current_user, form.note.data,
                 share_with_insurer=form.share_with_insurer.data)
    except AppError as exc:
        flash(exc.message, "error")
    return _back_to(incident_id)


@bp.post("/incidents/<int:incident_id>/checks")
def check(incident_id):
    """Tick or untick a triage checklist item."""
    form = CheckForm()
    if not form.validate():
        flash_form_errors(form)
        return _back_to(incident_id)
    try:
        record_check(incident_id, current_user, form.item.data, form.checked.data)
    except AppError as exc:
        flash(exc.message, "error")
    return _back_to(incident_id)


@bp.route("/phone-intake", methods=["GET", "POST"])
def phone_intake():
    """Record a call: look the organization up by the caller's number, then the details."""
    if not access.can(current_user, "incidents.record_calls"):
        return redirect(url_for("desk.incidents"))
    form = PhoneIntakeForm()
    form.organization_id.choices = choices([(0, "—")] + [
        (o.id, f"{o.name} ({o.code})") for o in organization_choices(current_user)])
    matched = None
    if request.method == "GET" and request.args.get("caller"):
        form.caller_phone.data = request.args["caller"]
        matched = organization_by_phone(request.args["caller"])
        if matched is not None:
            form.organization_id.data = matched.id
    if form.validate_on_submit() and db.session.get(Organization, form.organization_id.data):
        try:
            item = report_incident(_intake_request(form), actor=current_user)
        except AppError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Recorded as %(reference)s.", reference=item.reference), "success")
            return redirect(url_for("desk.incident", incident_id=item.id))
    elif request.method == "POST":
        if not form.errors:
            form.organization_id.errors = [_("Choose the organization.")]
        return render_template("desk/phone_intake.html", form=form, matched=matched,
                               looked_up=False, **phone_intake_context()), 400
    return render_template("desk/phone_intake.html", form=form, matched=matched,
                           looked_up=bool(request.args.get("caller")),
                           **phone_intake_context())


def _jst(value):
    return value.replace(tzinfo=JST) if value else None


def _intake_request(form):
    """The call as the operator recorded it: the call-back number is the reporter's phone
    (the caller's number when none is given); the caller ID stays on the intake event."""
    caller = normalize_phone(form.caller_phone.data)
    return IntakeRequest(
        organization_id=form.organization_id.data, channel="phone",
        category=form.category.data, severity=form.severity.data,
        summary=form.summary.data, description=form.description.data or "",
        reporter_name=form.reporter_name.data,
        reporter_phone=normalize_phone(form.callback_phone.data or "") or caller,
        reporter_email=(form.reporter_email.data or "").strip(),
        discovered_at=_jst(form.discovered_at.data), occurred_at=_jst(form.occurred_at.data),
        caller_id=caller)
