"""The customer's incident page and its four actions: correct its description and contact
details, add information, send a file, sign off a work report. Each action redirects back to
the page with what happened (or why nothing did); another organization's incident or visit
is the same 404 as a missing one, found before the form is read."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.access import get_dispatch_visible_to, get_incident_for
from app.errors import AppError
from app.extensions import csrf
from app.services.claims.evidence import CUSTOMER_KINDS
from app.services.dispatch.signoff import sign_off as sign_off_report
from app.services.incidents.corrections import correct_incident
from app.services.incidents.customer_view import customer_incident
from app.services.incidents.notes import add_note as add_information
from app.web.customer import bp
from app.web.customer.forms import DetailsForm, NoteForm, SignOffForm
from app.web.desk.evidence import store_from_form
from app.web.formutil import flash_form_errors


def _back(incident_id, anchor):
    return redirect(url_for("customer.incident", incident_id=incident_id) + anchor)


@bp.get("/incidents/<int:incident_id>")
def incident(incident_id):
    """One incident of my organization: state, timeline, work reports, files, my share."""
    view = customer_incident(current_user, incident_id)
    return render_template("customer/incident.html", view=view, note_form=NoteForm(),
                           signoff_form=SignOffForm(), customer_kinds=CUSTOMER_KINDS,
                           details_form=DetailsForm.of(view.incident))


def _carry_out(incident_id, form, action, done, anchor, done_anchor=None):
    """Validate the form, do the action, flash what happened (or why nothing did) and go
    back to the page: to `anchor` on a refusal, to `done_anchor` (else `anchor`) when done."""
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(incident_id, anchor)
    try:
        action()
    except AppError as exc:
        flash(_(exc.message), "error")  # in the catalog where it is one of ours
        return _back(incident_id, anchor)
    flash(done, "success")
    return _back(incident_id, done_anchor or anchor)


@bp.post("/incidents/<int:incident_id>/details")
def correct_details(incident_id):
    """Correct the description or the reporter's contact details (the desk sees before and
    after on the timeline); a stale form or a bad value changes nothing and says why."""
    get_incident_for(current_user, incident_id)
    form = DetailsForm()
    return _carry_out(
        incident_id, form,
        lambda: correct_incident(incident_id, form.changes(), version=form.version.data,
                                 actor=current_user),
        _("Your details were corrected."), "#details")


@bp.post("/incidents/<int:incident_id>/notes")
def add_note(incident_id):
    """Add information for the desk (a customer note on the timeline)."""
    get_incident_for(current_user, incident_id)
    form = NoteForm()
    return _carry_out(
        incident_id, form, lambda: add_information(incident_id, current_user, form.note.data),
        _("Your information was sent to the desk."), "#add-information", "#timeline")


@bp.post("/incidents/<int:incident_id>/evidence")
@csrf.exempt  # checked by read_upload after the upload's own size limit (desk/evidence.py)
def upload_evidence(incident_id):
    """Send a file (photo, log, other) to the desk; a refused file changes nothing."""
    get_incident_for(current_user, incident_id)
    store_from_form(incident_id)
    return _back(incident_id, "#files")


@bp.post("/dispatches/<int:dispatch_id>/sign-off")
def sign_off(dispatch_id):
    """Confirm the technician's work report of a visit (once, after it is written)."""
    incident_id = get_dispatch_visible_to(current_user, dispatch_id).incident_id
    form = SignOffForm()
    return _carry_out(
        incident_id, form,
        lambda: sign_off_report(dispatch_id, current_user, form.comment.data or ""),
        _("Thank you: the work report is signed off."), "#work-reports")
