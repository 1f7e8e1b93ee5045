"""Administration of an organization's contracts (admin writes, dispatchers read)."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app import access
from app.domain.labels import SEVERITY_LABELS
from app.errors import AppError
from app.services.directory import contracts as service
from app.services.directory.organizations import organization_choices
from app.web.admin import bp
from app.web.formutil import choices, flash_form_errors

FORM_REFUSED = 422
NEW_CONTRACT_DEFAULTS = ("onsite_support", "devices", "desk_hours", "sla_first_response_minutes",
                         "sla_onsite_minutes", "sla_acknowledge_minutes",
                         "sla_claim_business_days")  # filled in on a new contract's form
PLAN_LABELS = {"network": _l("Network monitoring"), "endpoint": _l("Endpoint monitoring"),
               "combined": _l("Network and endpoint (combined)")}


class ContractForm(FlaskForm):
    """A contract; the standard (price caps, class-2 additions) is checked by the service."""

    plan = SelectField(_l("Plan"), validators=[InputRequired()])
    service_class = SelectField(_l("Service class"), coerce=int, validators=[InputRequired()])
    devices = IntegerField(_l("Devices"), validators=[InputRequired(), NumberRange(min=1)])
    monthly_fee = IntegerField(_l("Monthly fee excl. tax (yen)"),
                               validators=[InputRequired(), NumberRange(min=0)])
    onsite_support = BooleanField(_l("On-site support"))
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    desk_hours = SelectField(_l("Desk hours"), validators=[InputRequired()])
    sla_first_response_minutes = IntegerField(_l("First response target (minutes)"),
                                              validators=[InputRequired(), NumberRange(min=1)])
    sla_onsite_minutes = IntegerField(_l("On-site arrival target (minutes)"),
                                      validators=[InputRequired(), NumberRange(min=1)])
    sla_acknowledge_minutes = IntegerField(
        _l("Technician acknowledgement target (minutes)"), validators=[
            InputRequired(), NumberRange(min=1, max=service.MAX_ACKNOWLEDGE_MINUTES)])
    sla_claim_business_days = IntegerField(
        _l("Claim submission target (business days after the on-site work)"), validators=[
            InputRequired(), NumberRange(min=1, max=service.MAX_CLAIM_BUSINESS_DAYS)])
    # The contract's alert policy: the default (None) or the severities ticked (maybe none).
    alert_policy = RadioField(_l("Alerts that open an incident"), default="default",
                              validators=[InputRequired()])
    alert_incident_severities = SelectMultipleField(
        _l("Severities"), choices=choices(SEVERITY_LABELS.items()),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    policy_id = SelectField(_l("Insurance policy"), coerce=lambda v: int(v) if v else None,
                            validators=[Optional()])
    added_monitoring = StringField(_l("Added monitoring (class 2, e.g. CASB, SASE)"),
                                   validators=[Length(max=100)])
    monthly_service = StringField(_l("Service given at least monthly (class 2)"),
                                  validators=[Length(max=200)])


def _form(organization, **kwargs):
    form = ContractForm(**kwargs)
    form.plan.choices = choices((p, str(label)) for p, label in PLAN_LABELS.items())
    form.service_class.choices = choices([(1, _("Class 1")), (2, _("Class 2"))])
    form.desk_hours.choices = choices([("24h", _("24 hours")),
                                       ("business", _("Business hours"))])
    form.policy_id.choices = choices(
        [("", _("None"))] + [(p.id, p.number) for p in organization.policies])
    form.alert_policy.choices = choices([
        ("default", _("The default: %(severities)s", severities=default_severities())),
        ("custom", _("Only the severities ticked below (none ticked: alerts are kept for "
                     "the reports only)"))])
    return form


def default_severities():
    """The configured default alert policy (ALERT_INCIDENT_SEVERITIES), as labels."""
    return ", ".join(str(SEVERITY_LABELS.get(s, s))
                     for s in current_app.config["ALERT_INCIDENT_SEVERITIES"])


def _fields(form):
    """The form's values as the service takes them."""
    fields = {name: form[name].data for name in service.FIELDS}
    fields["added_monitoring"] = fields["added_monitoring"] or ""
    fields["monthly_service"] = fields["monthly_service"] or ""
    if form.alert_policy.data == "default":
        fields["alert_incident_severities"] = None
    return fields


def _page(organization, form, contract=None, status=200):
    return render_template("admin/contract_form.html", organization=organization, form=form,
                           contract=contract), status


def _pages_context():
    """What the contract lists show besides the contracts."""
    return {"plans": PLAN_LABELS, "default_severities": default_severities()}


def _submit(organization, form, save, contract=None):
    """Save a valid form the service accepts and go to the list; else the form again."""
    if not form.validate():
        flash_form_errors(form)
        return _page(organization, form, contract, FORM_REFUSED)
    try:
        save(_fields(form))
    except AppError as exc:
        flash(exc.message, "error")
        return _page(organization, form, contract, exc.status)
    flash(_("The contract was saved."), "success")
    return redirect(url_for("admin.contracts", organization_id=organization.id))


@bp.get("/contracts")
def contract_organizations():
    """Every organization, each linking to its contracts."""
    return render_template("admin/contracts.html", organization=None, contracts=[],
                           organizations=organization_choices(current_user),
                           **_pages_context())


@bp.get("/organizations/<int:organization_id>/contracts")
def contracts(organization_id):
    """An organization's contracts."""
    organization = service.get_organization(current_user, organization_id)
    return render_template("admin/contracts.html", organization=organization,
                           contracts=service.list_contracts(current_user, organization_id),
                           organizations=[], **_pages_context())


@bp.route("/organizations/<int:organization_id>/contracts/new", methods=["GET", "POST"])
def new_contract(organization_id):
    """Add a contract to an organization (admin)."""
    access.require(current_user, "contracts.manage")
    organization = service.get_organization(current_user, organization_id)
    if request.method == "GET":
        form = _form(organization, formdata=None)
        for name in NEW_CONTRACT_DEFAULTS:
            form[name].data = service.DEFAULTS[name]
        form.alert_policy.data = "default"
        return _page(organization, form)
    return _submit(organization, _form(organization), lambda fields: service.create_contract(
        current_user, organization_id, fields))


@bp.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
def edit_contract(contract_id):
    """Change a contract (admin); the whole contract is checked again."""
    access.require(current_user, "contracts.manage")
    contract = service.get_contract(current_user, contract_id)
    organization = contract.organization
    if request.method == "GET":
        form = _form(organization, formdata=None, obj=contract)
        form.alert_policy.data = "default" if contract.alert_incident_severities is None \
            else "custom"
        return _page(organization, form, contract)
    return _submit(organization, _form(organization), lambda fields: service.update_contract(
        current_user, contract_id, fields), contract)
