"""Administration of insurers, their portal users, and creating or editing policies (admin).

A webhook secret is shown once, in the page answering the post that generated it (never
flashed: the flash lives in the session cookie).
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.errors import AppError
from app.services.claims import coverage
from app.services.claims import insurers as service
from app.services.directory.organizations import organization_choices
from app.web.admin import bp
from app.web.admin.policies import TermsForm
from app.web.formutil import choices, flash_form_errors

FORM_REFUSED = 422


class InsurerForm(FlaskForm):
    """An insurer's code, name, notice e-mail and webhook URL."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    notice_email = StringField(_l("Notice e-mail"), validators=[Optional(), Length(max=254)])
    webhook_url = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=254)])


class InsurerUserForm(FlaskForm):
    """A portal user of the insurer with the initial password the admin gives them."""

    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Initial password"),
                             validators=[DataRequired(), Length(min=10, max=200)])


class RotateForm(FlaskForm):
    """Only the CSRF token."""


class PolicyForm(TermsForm):
    """A policy's number, parties and period, and its limits (from the terms form)."""

    number = StringField(_l("Policy number"), validators=[DataRequired(), Length(max=64)])
    insurer_id = SelectField(_l("Insurer"), coerce=int, validators=[InputRequired()])
    organization_id = SelectField(_l("Insured"), coerce=int, validators=[InputRequired()])
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on"), validators=[InputRequired()])


def _data(form, names):
    return {name: form[name].data for name in names}


def _attempt(form, save, refused):
    """(save(), None) for a valid form the service accepts; else (None, refused(status)).

    Each refusal is flashed: the form's field errors, or the service's message.
    """
    if not form.validate():
        flash_form_errors(form)
        return None, refused(FORM_REFUSED)
    try:
        return save(), None
    except AppError as exc:
        flash(exc.message, "error")
        return None, refused(exc.status)


def _text_data(form):
    return {name: form[name].data or "" for name in service.INSURER_FIELDS}


# ---------------------------------------------------------------- insurers


def _insurers_page(form, status=200):
    return render_template("admin/insurers.html", insurers=service.list_insurers(current_user),
                           form=form), status


@bp.get("/insurers")
def insurers():
    """Every insurer, and a form to add one."""
    return _insurers_page(InsurerForm(formdata=None))


@bp.post("/insurers")
def add_insurer():
    """Add an insurer; the page answering shows its webhook secret once."""
    form = InsurerForm()
    saved, refused = _attempt(form, lambda: service.create_insurer(
        current_user, _text_data(form)), lambda status: _insurers_page(form, status))
    if refused:
        return refused
    flash(_("The insurer was added."), "success")
    return _insurer_page(saved[0], secret=saved[1])


def _insurer_page(insurer, form=None, user_form=None, secret=None, status=200):
    return render_template(
        "admin/insurer.html", insurer=insurer, secret=secret,
        form=form or InsurerForm(formdata=None, obj=insurer),
        user_form=user_form or InsurerUserForm(formdata=None), rotate_form=RotateForm(),
        users=service.list_users(current_user, insurer.id)), status


@bp.get("/insurers/<int:insurer_id>")
def insurer(insurer_id):
    """An insurer's details form, its portal users, and the secret rotation."""
    return _insurer_page(service.get_insurer(current_user, insurer_id))


@bp.post("/insurers/<int:insurer_id>")
def save_insurer(insurer_id):
    """Save an insurer's details (the webhook secret stays)."""
    item = service.get_insurer(current_user, insurer_id)
    form = InsurerForm()
    refused = _attempt(form, lambda: service.update_insurer(
        insurer_id, current_user, _text_data(form)),
        lambda status: _insurer_page(item, form=form, status=status))[1]
    if refused:
        return refused
    flash(_("The insurer was saved."), "success")
    return redirect(url_for("admin.insurer", insurer_id=insurer_id))


@bp.post("/insurers/<int:insurer_id>/rotate-secret")
def rotate_insurer_secret(insurer_id):
    """Generate a new webhook secret and show it once; the old one stops working."""
    item, secret = service.rotate_secret(insurer_id, current_user)
    flash(_("A new webhook secret was generated."), "success")
    return _insurer_page(item, secret=secret)


@bp.post("/insurers/<int:insurer_id>/users")
def add_insurer_user(insurer_id):
    """Add a portal user for the insurer with an initial password."""
    item = service.get_insurer(current_user, insurer_id)
    form = InsurerUserForm()
    user, refused = _attempt(form, lambda: service.create_user(
        insurer_id, current_user, email=form.email.data, name=form.name.data,
        password=form.password.data),
        lambda status: _insurer_page(item, user_form=form, status=status))
    if refused:
        return refused
    flash(_("The user %(email)s was added.", email=user.email), "success")
    return redirect(url_for("admin.insurer", insurer_id=insurer_id))


# ---------------------------------------------------------------- policies


def _policy_form(**kwargs):
    form = PolicyForm(**kwargs)
    form.insurer_id.choices = choices(
        (i.id, f"{i.code} {i.name}") for i in service.list_insurers(current_user))
    form.organization_id.choices = choices(
        (o.id, f"{o.code} {o.name}") for o in organization_choices(current_user))
    return form


def _policy_page(form, policy=None, status=200):
    return render_template("admin/policy_form.html", form=form, policy=policy), status


def _submit_policy(form, save, policy=None):
    """Call `save(fields)` on a valid form and go to the policy's terms; else the form again."""
    saved, refused = _attempt(form, lambda: save(_data(form, service.POLICY_FIELDS)),
                              lambda status: _policy_page(form, policy, status))
    if refused:
        return refused
    flash(_("The policy was saved."), "success")
    return redirect(url_for("admin.policy", policy_id=saved.id))


@bp.route("/policies/new", methods=["GET", "POST"])
def new_policy():
    """Add a policy; its per-head terms are set on its terms page next."""
    form = _policy_form(formdata=None) if request.method == "GET" else _policy_form()
    if request.method == "GET":
        form.deductible.data = 0
        return _policy_page(form)
    return _submit_policy(form, lambda fields: service.create_policy(current_user, fields))


@bp.route("/policies/<int:policy_id>/edit", methods=["GET", "POST"])
def edit_policy(policy_id):
    """Change a policy's number, parties, period and limits."""
    item = coverage.get_policy(current_user, policy_id)
    if request.method == "GET":
        return _policy_page(_policy_form(formdata=None, obj=item), item)
    return _submit_policy(_policy_form(), lambda fields: service.update_policy(
        policy_id, current_user, fields), item)
