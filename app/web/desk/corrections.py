"""The desk incident page's correction form and links, and the voicemail assignment of
電話受付 (issue 13). The timeline's wording of corrections and links is app/domain/timeline.py.

The incident page includes `desk/_correction.html` and `desk/_links.html`; what they need
comes from the helpers below (a context processor of the desk), so the page's view stays
as it is.
"""


from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import access
from app.domain.timeutil import JST, to_jst
from app.errors import AppError
from app.services.directory.organizations import organization_choices
from app.services.incidents.corrections import ORGANIZATION_STATES, correct_incident
from app.services.incidents.links import incident_by_reference, link_incidents, links_of
from app.services.incidents.phone_line import (
    assign_voicemail,
    recent_calls,
    unassigned_voicemail,
)
from app.web.desk import bp
from app.web.desk.forms import CorrectionForm, LinkForm, VoicemailForm
from app.web.formutil import choices, flash_form_errors

TEXT_FIELDS = ("category", "severity", "summary", "description", "reporter_name",
               "reporter_phone", "reporter_email", "discovery_source")


def _jst_minute(value):
    """A stored instant as the form shows it (Japan time, to the minute), or None."""
    return to_jst(value).replace(tzinfo=None, second=0, microsecond=0) if value else None


def _organization_choices():
    return choices([(o.id, f"{o.name} ({o.code})")
                    for o in organization_choices(current_user)])


def correction_form(incident):
    """The correction form filled with the incident's facts; None for roles that may not."""
    if not access.can(current_user, "incidents.correct"):
        return None
    form = CorrectionForm(formdata=None, version=incident.version, **{
        name: getattr(incident, name) for name in TEXT_FIELDS},
        discovered_at=_jst_minute(incident.discovered_at),
        occurred_at=_jst_minute(incident.occurred_at),
        organization_id=incident.organization_id)
    if incident.state in ORGANIZATION_STATES:
        form.organization_id.choices = _organization_choices()
    return form


def _lines(text):
    return (text or "").replace("\r\n", "\n").strip()


def _changes(form, incident):
    """{field: value} of what the operator changed on the form (unchanged fields left out:
    a phone number kept as it was typed is not re-written, a time shown to the minute does
    not lose its seconds)."""
    changes = {}
    for name in TEXT_FIELDS:
        value = form[name].data or ""
        value = _lines(value) if name == "description" else value.strip()
        if value != (getattr(incident, name) or ""):
            changes[name] = value
    for name in ("discovered_at", "occurred_at"):
        value = form[name].data
        if value != _jst_minute(getattr(incident, name)):
            changes[name] = value.replace(tzinfo=JST) if value else None
    if incident.state in ORGANIZATION_STATES and form.organization_id.data and \
            form.organization_id.data != incident.organization_id:
        changes["organization_id"] = form.organization_id.data
    return changes


def _back_to(incident_id, anchor=None):
    return redirect(url_for("desk.incident", incident_id=incident_id, _anchor=anchor))


@bp.post("/incidents/<int:incident_id>/correct")
def correct(incident_id):
    """Correct the incident's facts; a stale version or a refusal changes nothing."""
    form = CorrectionForm()
    if not form.validate():
        flash_form_errors(form)
        return _back_to(incident_id, "correct")
    try:
        incident = access.get_incident_for(current_user, incident_id)
        correct_incident(incident_id, _changes(form, incident), version=form.version.data,
                         reason=form.reason.data or "", actor=current_user,
                         completed=form.completed.data)
    except AppError as exc:
        flash(exc.message, "error")
        return _back_to(incident_id, "correct")
    flash(_("The incident is corrected."), "success")
    return _back_to(incident_id)


# ---------------------------------------------------------------- links


def link_form():
    """The link form, for roles that may link."""
    return LinkForm(formdata=None) if access.can(current_user, "incidents.link") else None


LINK_LABELS = {
    "duplicate_of": _l("Duplicate of"),
    "duplicated_by": _l("Duplicate merged into this one"),
    "related": _l("Related"),
}


def link_label(kind):
    return str(LINK_LABELS.get(kind, kind))


@bp.post("/incidents/<int:incident_id>/links")
def add_link(incident_id):
    """Link to another incident named by its reference."""
    form = LinkForm()
    if not form.validate():
        flash_form_errors(form)
        return _back_to(incident_id, "links")
    try:
        other = incident_by_reference(current_user, form.reference.data)
        link_incidents(incident_id, other.id, form.kind.data, actor=current_user)
    except AppError as exc:
        flash(exc.message, "error")
        return _back_to(incident_id, "links")
    flash(_("Linked to %(reference)s.", reference=other.reference), "success")
    return _back_to(incident_id, "links")


@bp.context_processor
def _correction_helpers():
    return {"incident_correction_form": correction_form, "incident_link_form": link_form,
            "incident_links": lambda incident: links_of(incident, current_user),
            "link_label": link_label}


# ---------------------------------------------------------------- voicemail


def phone_intake_context():
    """What 電話受付 shows beside its form: the calls the phone line opened lately (to
    complete, not to enter again) and the voicemail of unknown callers to assign."""
    voicemail = unassigned_voicemail(current_user)
    return {"recent_calls": recent_calls(current_user), "voicemail": voicemail,
            "voicemail_form": voicemail_form() if voicemail else None}


def voicemail_form():
    """The form assigning a voicemail, its organizations listed."""
    form = VoicemailForm(formdata=None)
    form.organization_id.choices = _organization_choices()
    return form


@bp.post("/voicemail/<int:voicemail_id>/assign")
def assign(voicemail_id):
    """File a voicemail under an organization (and register the number, if asked)."""
    form = VoicemailForm()
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("desk.phone_intake"))
    try:
        incident = assign_voicemail(voicemail_id, form.organization_id.data, current_user,
                                    register_number=form.register_number.data)
    except AppError as exc:
        flash(exc.message, "error")
        return redirect(url_for("desk.phone_intake"))
    flash(_("Recorded as %(reference)s.", reference=incident.reference), "success")
    return redirect(url_for("desk.incident", incident_id=incident.id, _anchor="correct"))
