"""Administration of an organization's mail domains and addresses (admin only): mail from
them opens incidents for the organization (docs/email.md)."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app import access
from app.errors import AppError
from app.extensions import db
from app.models import OrganizationDomain
from app.services.directory import contracts
from app.services.mail import senders
from app.web.admin import bp
from app.web.formutil import attach_error

FORM_REFUSED = 422


class DomainForm(FlaskForm):
    domain = StringField(_l("Domain or address"), validators=[DataRequired(), Length(max=253)])


class RemoveDomainForm(FlaskForm):
    """Only the CSRF token."""


def _organization(organization_id):
    access.require(current_user, "org_domains.manage")
    return contracts.get_organization(current_user, organization_id)


def _page(organization, form=None, status=200):
    return render_template(
        "admin/mail_domains.html", organization=organization,
        domains=senders.list_domains(organization.id), form=form or DomainForm(formdata=None),
        remove_form=RemoveDomainForm(formdata=None)), status


@bp.get("/organizations/<int:organization_id>/mail-domains")
def mail_domains(organization_id):
    """The domains and addresses whose mail opens incidents for the organization."""
    return _page(_organization(organization_id))


@bp.post("/organizations/<int:organization_id>/mail-domains")
def add_mail_domain(organization_id):
    organization = _organization(organization_id)
    form = DomainForm()
    if not form.validate():
        return _page(organization, form, FORM_REFUSED)
    try:
        entry = senders.add_domain(organization.id, form.domain.data, current_user)
    except AppError as exc:
        attach_error(form, exc)
        return _page(organization, form, exc.status)
    flash(_("%(domain)s is registered.", domain=entry.domain), "success")
    return redirect(url_for("admin.mail_domains", organization_id=organization.id))


@bp.post("/mail-domains/<int:domain_id>/remove")
def remove_mail_domain(domain_id):
    access.require(current_user, "org_domains.manage")
    form = RemoveDomainForm()
    entry = db.session.get(OrganizationDomain, domain_id)
    organization_id = entry.organization_id if entry is not None else None
    if form.validate():
        try:
            senders.remove_domain(domain_id, current_user)
            flash(_("The domain was removed."), "success")
        except AppError as exc:
            flash(exc.message, "error")
            return redirect(url_for("admin.organizations"))
    if organization_id is None:
        return redirect(url_for("admin.organizations"))
    return redirect(url_for("admin.mail_domains", organization_id=organization_id))
