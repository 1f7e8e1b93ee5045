"""Administration of an organization's alert ingest keys (admin only).

A new key is shown once, in the page answering the post that made it (never flashed: the
flash lives in the session cookie); only its hash is stored, so it cannot be shown again.
"""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired

from app import access
from app.errors import AppError
from app.services.directory import contracts
from app.services.monitoring import ingest as service
from app.web.admin import bp
from app.web.formutil import flash_form_errors

FORM_REFUSED = 422


class CreateKeyForm(FlaskForm):
    """Only the CSRF token."""


class RevokeKeyForm(FlaskForm):
    """Revoking is final: the admin confirms it."""

    confirm = BooleanField(_l("Yes, revoke: sensors sending with this key are refused"),
                           validators=[DataRequired()])


def _organization(organization_id):
    """The organization whose keys an admin manages (403 for others, 404 if unknown)."""
    access.require(current_user, "ingest_keys.manage")
    return contracts.get_organization(current_user, organization_id)


def _page(organization, new_key=None, status=200):
    return render_template(
        "admin/ingest_keys.html", organization=organization, new_key=new_key,
        keys=service.list_ingest_keys(organization.id), create_form=CreateKeyForm(),
        revoke_form=RevokeKeyForm(formdata=None)), status


@bp.get("/organizations/<int:organization_id>/ingest-keys")
def ingest_keys(organization_id):
    """An organization's ingest keys: prefix, created, revoked."""
    return _page(_organization(organization_id))


@bp.post("/organizations/<int:organization_id>/ingest-keys")
def create_ingest_key(organization_id):
    """Make a key and show it on this answer only."""
    organization = _organization(organization_id)
    form = CreateKeyForm()
    if not form.validate():
        flash_form_errors(form)
        return _page(organization, status=FORM_REFUSED)
    return _page(organization, new_key=service.create_ingest_key(organization,
                                                                   actor=current_user))


@bp.post("/ingest-keys/<int:key_id>/revoke")
def revoke_ingest_key(key_id):
    """Revoke a key once the admin has confirmed it."""
    access.require(current_user, "ingest_keys.manage")
    form = RevokeKeyForm()
    key = service.find_ingest_key(key_id)
    if not form.validate():
        flash_form_errors(form)
        return _page(_organization(key.organization_id), status=FORM_REFUSED)
    try:
        service.revoke_one_ingest_key(key, actor=current_user)
    except AppError as exc:
        flash(exc.message, "error")
        return _page(_organization(key.organization_id), status=exc.status)
    flash(_("The key %(prefix)s… was revoked.", prefix=key.prefix), "success")
    return redirect(url_for("admin.ingest_keys", organization_id=key.organization_id))
