"""Desk routes for cost lines: enter, approve or reject, link evidence, the labour line.

The incident page includes templates/desk/_costs.html; what it needs beyond the page's
own context (heads, the payout preview, the forms) comes from cost_page_context here,
which the incident page's view adds (the other desk pages have no cost forms to build).
"""

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app import access
from app.access import get_dispatch_visible_to
from app.errors import AppError
from app.services.claims import costs, coverage
from app.web.desk import bp
from app.web.formutil import ID_RANGE, choices, flash_form_errors
from workflows.incident import COSTS_FROZEN_STATES


class CostForm(FlaskForm):
    """One cost line (the service checks every value again)."""

    head = SelectField(_l("Coverage head"), validate_choice=False,
                       validators=[DataRequired()])
    description = StringField(_l("Description"), validators=[DataRequired(), Length(max=500)])
    quantity = DecimalField(_l("Quantity"), places=2, validators=[InputRequired()])
    unit_price = IntegerField(_l("Unit price (yen, excl. tax)"),
                              validators=[InputRequired(), NumberRange(min=0)])
    tax_rate = SelectField(_l("Tax rate"), coerce=int,
                           choices=choices([(10, "10%"), (8, "8%"), (0, "0%")]))
    incurred_on = DateField(_l("Incurred on"), validators=[DataRequired()])
    evidence_id = IntegerField(_l("Receipt or photo (optional)"),
                               validators=[Optional(), ID_RANGE])


class EvidenceLinkForm(FlaskForm):
    """Link one evidence file to a line."""

    evidence_id = IntegerField(validators=[DataRequired(), ID_RANGE])


class ButtonForm(FlaskForm):
    """A button that only needs the CSRF token."""


def cost_page_context():
    """What the cost partials need: the forms, the heads, the payout preview."""
    return {"cost_form": CostForm(formdata=None), "link_form": EvidenceLinkForm(formdata=None),
            "button_form": ButtonForm(formdata=None), "coverage_heads": costs.list_heads,
            "cost_preview": coverage.preview, "costs_frozen_states": COSTS_FROZEN_STATES}


def flash_outcome(action, success):
    """Call a cost service; flash its refusal, or `success`."""
    try:
        action()
    except AppError as exc:
        flash(exc.message, "error")
    else:
        flash(success, "success")


def run(action, incident_id, success):
    """flash_outcome, then back to the incident page's costs."""
    flash_outcome(action, success)
    return redirect(url_for("desk.incident", incident_id=incident_id, _anchor="costs"))


def add_line(incident_id, form, dispatch_id=None):
    """Add the validated form's line; the service checks every value again."""
    costs.add_cost_line(incident_id, current_user, form.head.data, form.description.data,
                        form.quantity.data, form.unit_price.data, form.tax_rate.data,
                        form.incurred_on.data, dispatch_id=dispatch_id,
                        evidence_ids=[form.evidence_id.data] if form.evidence_id.data else ())


def _refused_form(form, incident_id):
    flash_form_errors(form)
    return redirect(url_for("desk.incident", incident_id=incident_id, _anchor="costs"))


def run_button(action, incident_id, success):
    """`run` behind a CSRF-checked button."""
    form = ButtonForm()
    if not form.validate():
        return _refused_form(form, incident_id)
    return run(action, incident_id, success)


def _incident_of(cost_id):
    return access.get_cost_for(current_user, cost_id).incident_id


@bp.post("/incidents/<int:incident_id>/costs")
def add_cost(incident_id):
    """Enter a cost line."""
    form = CostForm()
    if not form.validate():
        return _refused_form(form, incident_id)
    return run(lambda: add_line(incident_id, form), incident_id,
               _("The cost line was recorded as a draft."))


@bp.post("/costs/<int:cost_id>/approve")
def approve_cost(cost_id):
    """Approve a draft line."""
    incident_id = _incident_of(cost_id)
    return run_button(lambda: costs.approve(cost_id, current_user), incident_id,
                      _("The cost line was approved."))


@bp.post("/costs/<int:cost_id>/reject")
def reject_cost(cost_id):
    """Reject a draft line."""
    incident_id = _incident_of(cost_id)
    return run_button(lambda: costs.reject(cost_id, current_user), incident_id,
                      _("The cost line was rejected."))


@bp.post("/costs/<int:cost_id>/evidence")
def link_cost_evidence(cost_id):
    """Link an evidence file to a line."""
    incident_id = _incident_of(cost_id)
    form = EvidenceLinkForm()
    if not form.validate():
        return _refused_form(form, incident_id)
    return run(lambda: costs.link_evidence(cost_id, [form.evidence_id.data], current_user),
               incident_id, _("The evidence was linked."))


@bp.post("/dispatches/<int:dispatch_id>/labour")
def labour(dispatch_id):
    """The visit's labour line from its recorded times."""
    incident_id = get_dispatch_visible_to(current_user, dispatch_id).incident_id
    return run_button(lambda: costs.labour_line(dispatch_id, current_user), incident_id,
                      _("The labour line was recorded as a draft."))
