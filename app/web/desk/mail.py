"""The e-mail channel on the desk: the unmatched mail list (assign, attach, discard) and an
incident's conversation with the reply form (templates/desk/_conversation.html)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app import access
from app.errors import AppError
from app.models import MAX_INTEGER
from app.services.directory.organizations import organization_choices
from app.services.mail import conversation, unmatched
from app.web.desk import bp
from app.web.formutil import choices, flash_form_errors


class ReplyForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=200)])
    text = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=20_000)])


class AssignForm(FlaskForm):
    organization_id = SelectField(_l("Organization"), coerce=int, validate_choice=False)
    register_as = SelectField(_l("Register the sender"), choices=choices([
        ("", _l("Do not register")), ("address", _l("This address")),
        ("domain", _l("The whole domain"))]), default="")


class AttachForm(FlaskForm):
    incident_id = IntegerField(_l("Incident id"),
                               validators=[DataRequired(), NumberRange(1, MAX_INTEGER)])


class DiscardForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


@bp.app_context_processor
def _conversation_helpers():
    """What the conversation partial needs, asked for only where it is included."""
    def mail_conversation(incident):
        if not access.can(current_user, "mail.read"):
            return []
        return conversation.conversation(incident)

    return {"mail_conversation": mail_conversation, "mail_reply_form": ReplyForm}


@bp.post("/incidents/<int:incident_id>/messages")
def reply_mail(incident_id):
    """Send the desk's reply to the customer (through the outbox)."""
    access.require(current_user, "mail.reply")  # a refusal is a 403, not a flashed message
    form = ReplyForm()
    if not form.validate():
        flash_form_errors(form)
    else:
        try:
            conversation.reply(incident_id, current_user, form.text.data,
                               subject=form.subject.data or None)
            flash(_("The reply is on its way."), "success")
        except AppError as exc:
            flash(exc.message, "error")
    return redirect(url_for("desk.incident", incident_id=incident_id) + "#conversation")


@bp.get("/mail")
def mail_list():
    """Mail waiting for the desk (or, with status=refused, mail refused with the reason)."""
    status = request.args.get("status", "unmatched")
    status = status if status in unmatched.LISTED else "unmatched"
    rows = unmatched.list_mail(current_user, status)
    assign_form = AssignForm(formdata=None)
    assign_form.organization_id.choices = choices(
        (row.id, f"{row.name} ({row.code})") for row in organization_choices(current_user))
    return render_template("desk/mail.html", rows=rows, status=status,
                           assign_form=assign_form, attach_form=AttachForm(formdata=None),
                           discard_form=DiscardForm(formdata=None))


def _decide(use_case, form, done_message):
    access.require(current_user, "mail.triage")  # a refusal is a 403, not a flashed message
    if not form.validate():
        flash_form_errors(form)
        return redirect(url_for("desk.mail_list"))
    try:
        row = use_case()
    except AppError as exc:
        flash(exc.message, "error")
        return redirect(url_for("desk.mail_list"))
    flash(done_message, "success")
    if row.incident_id:
        return redirect(url_for("desk.incident", incident_id=row.incident_id))
    return redirect(url_for("desk.mail_list"))


@bp.post("/mail/<int:mail_id>/assign")
def assign_mail(mail_id):
    form = AssignForm()
    form.organization_id.choices = []
    return _decide(lambda: unmatched.assign(current_user, mail_id, form.organization_id.data,
                                            form.register_as.data or ""),
                   form, _("An incident was opened from the mail."))


@bp.post("/mail/<int:mail_id>/attach")
def attach_mail(mail_id):
    form = AttachForm()
    return _decide(lambda: unmatched.attach(current_user, mail_id, form.incident_id.data),
                   form, _("The mail was added to the incident."))


@bp.post("/mail/<int:mail_id>/discard")
def discard_mail(mail_id):
    form = DiscardForm()
    return _decide(lambda: unmatched.discard(current_user, mail_id, form.reason.data),
                   form, _("The mail was discarded."))
