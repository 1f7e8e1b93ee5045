"""Administration of coverage heads and of a policy's limits and per-head terms (admin only)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.errors import AppError, InvalidInput
from app.services.claims import costs, coverage
from app.web.admin import bp
from app.web.formutil import flash_form_errors


class HeadForm(FlaskForm):
    """A new coverage head."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name_ja = StringField(_l("Name (Japanese)"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=100)])


class TermsForm(FlaskForm):
    """A policy's limits; the per-head rows are read from `ratio_<code>` / `limit_<code>`."""

    per_incident_limit = IntegerField(_l("Per-incident limit (yen)"),
                                      validators=[InputRequired(), NumberRange(min=0)])
    annual_aggregate = IntegerField(_l("Annual aggregate (yen)"),
                                    validators=[InputRequired(), NumberRange(min=0)])
    deductible = IntegerField(_l("Deductible (yen)"),
                              validators=[InputRequired(), NumberRange(min=0)])


@bp.get("/policies")
def policies():
    """Every policy with its limits, and the coverage heads."""
    return render_template("admin/policies.html", policies=coverage.list_policies(current_user),
                           heads=costs.list_heads(), form=HeadForm(formdata=None))


@bp.post("/coverage-heads")
def add_head():
    """Add a coverage head."""
    form = HeadForm()
    if not form.validate():
        flash_form_errors(form)
    else:
        try:
            coverage.create_head(current_user, form.code.data, form.name_ja.data,
                                 form.name_en.data)
        except AppError as exc:
            flash(exc.message, "error")
        else:
            flash(_("The coverage head was added."), "success")
    return redirect(url_for("admin.policies"))


def _render_policy(policy, form, values=None, status=200):
    rows = {c.head.code: c for c in policy.coverages}
    return render_template("admin/policy.html", policy=policy, form=form,
                           heads=costs.list_heads(), rows=rows, values=values or {}), status


@bp.get("/policies/<int:policy_id>")
def policy(policy_id):
    """A policy's terms form."""
    item = coverage.get_policy(current_user, policy_id)
    return _render_policy(item, TermsForm(formdata=None, obj=item))


def _head_terms(heads):
    """{code: (ratio, sub-limit)} for every head with a ratio given; blank = not covered."""
    terms = {}
    for head in heads:
        ratio = request.form.get(f"ratio_{head.code}", "").strip()
        limit = request.form.get(f"limit_{head.code}", "").strip()
        if not ratio and not limit:
            continue
        if not (ratio.isdigit() and limit.isdigit()):
            raise InvalidInput(_("Give both a payout ratio and a sub-limit as whole numbers "
                                 "for %(head)s, or leave both empty.", head=head.name_ja))
        terms[head.code] = (int(ratio), int(limit))
    return terms


@bp.post("/policies/<int:policy_id>")
def save_policy(policy_id):
    """Save a policy's limits and per-head terms (all or nothing)."""
    item = coverage.get_policy(current_user, policy_id)
    form = TermsForm()
    if not form.validate():
        flash_form_errors(form)
        return _render_policy(item, form, request.form, 422)
    try:
        coverage.set_terms(policy_id, current_user,
                           per_incident_limit=form.per_incident_limit.data,
                           annual_aggregate=form.annual_aggregate.data,
                           deductible=form.deductible.data,
                           heads=_head_terms(costs.list_heads()))
    except AppError as exc:
        flash(exc.message, "error")
        return _render_policy(coverage.get_policy(current_user, policy_id), form, request.form,
                              exc.status)
    flash(_("The policy terms were saved."), "success")
    return redirect(url_for("admin.policy", policy_id=policy_id))
