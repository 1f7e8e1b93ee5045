"""Administration of an organization's alert ingest keys (admin only): the keys, the syslog
senders (addresses, CIDRs) bound to each, and each key's default sensor name.

A new key is shown once, in the page answering the post that made it (never flashed: the
flash lives in the session cookie); only its hash is stored, so it cannot be shown again.
"""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app import access
from app.errors import AppError
from app.services.directory import contracts
from app.services.monitoring import ingest as service
from app.services.monitoring import senders
from app.web.admin import bp
from app.web.formutil import flash_form_errors

FORM_REFUSED = 422


class CreateKeyForm(FlaskForm):
    """Only the CSRF token."""


class RevokeKeyForm(FlaskForm):
    """Revoking is final: the admin confirms it."""

    confirm = BooleanField(_l("Yes, revoke: sensors sending with this key are refused"),
                           validators=[DataRequired()])


class SenderForm(FlaskForm):
    """A syslog sender to bind to a key."""

    network = StringField(_l("Sender address or CIDR"), validators=[DataRequired(),
                                                                    Length(max=64)])


class RemoveSenderForm(FlaskForm):
    """Which bound sender to remove."""

    sender_id = HiddenField(validators=[DataRequired()])


class SensorForm(FlaskForm):
    """The key's default sensor name (empty: the organization's code)."""

    sensor = StringField(_l("Default sensor name"), validators=[Optional(),
                                                                Length(max=senders.SENSOR_MAX)])


class CertificateForm(FlaskForm):
    """The SHA-256 of the key's syslog sender's TLS client certificate (empty: none)."""

    cert_fingerprint = StringField(_l("Client certificate SHA-256"),
                                   validators=[Optional(), Length(max=200)])


def _organization(organization_id):
    """The organization whose keys an admin manages (403 for others, 404 if unknown)."""
    access.require(current_user, "ingest_keys.manage")
    return contracts.get_organization(current_user, organization_id)


def _page(organization, new_key=None, status=200):
    return render_template(
        "admin/ingest_keys.html", organization=organization, new_key=new_key,
        keys=service.list_ingest_keys(organization.id), create_form=CreateKeyForm(),
        revoke_form=RevokeKeyForm(formdata=None), sender_form=SenderForm(formdata=None),
        remove_form=RemoveSenderForm(formdata=None), sensor_form=SensorForm(formdata=None),
        certificate_form=CertificateForm(formdata=None)), status


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


def _key_change(key_id, form_class, change, done):
    """Validate form_class's post for the key in the URL, apply change(key, form), flash
    done(key, result) and return to the keys; a refusal re-renders the page with it."""
    access.require(current_user, "ingest_keys.manage")
    key = service.find_ingest_key(key_id)
    organization = _organization(key.organization_id)
    form = form_class()
    if not form.validate():
        flash_form_errors(form)
        return _page(organization, status=FORM_REFUSED)
    try:
        result = change(key, form)
    except AppError as exc:
        flash(exc.message, "error")
        return _page(organization, status=exc.status)
    flash(done(key, result), "success")
    return redirect(url_for("admin.ingest_keys", organization_id=organization.id))


@bp.post("/ingest-keys/<int:key_id>/senders")
def add_ingest_sender(key_id):
    """Bind a syslog sender (address or CIDR) to the key."""
    return _key_change(
        key_id, SenderForm, lambda key, form: senders.bind_sender(key, form.network.data,
                                                          actor=current_user),
        lambda key, network: _("%(network)s now sends as key %(prefix)s….",
                               network=network, prefix=key.prefix))


@bp.post("/ingest-keys/<int:key_id>/senders/remove")
def remove_ingest_sender(key_id):
    """Remove one of the key's syslog senders."""
    return _key_change(
        key_id, RemoveSenderForm, lambda key, form: senders.unbind_sender(
            key, _int(form.sender_id.data), actor=current_user),
        lambda key, network: _("%(network)s no longer sends as key %(prefix)s….",
                               network=network, prefix=key.prefix))


@bp.post("/ingest-keys/<int:key_id>/sensor")
def set_ingest_key_sensor(key_id):
    """Set the key's default sensor name."""
    return _key_change(
        key_id, SensorForm, lambda key, form: senders.set_sensor(key, form.sensor.data or "",
                                                         actor=current_user),
        lambda key, _result: _("Alerts of key %(prefix)s… that name no sensor now name %(sensor)s.",
                               prefix=key.prefix, sensor=key.default_sensor))


@bp.post("/ingest-keys/<int:key_id>/certificate")
def set_ingest_key_certificate(key_id):
    """Bind the key to a TLS client certificate's fingerprint, or unbind it (empty)."""
    return _key_change(
        key_id, CertificateForm, lambda key, form: senders.set_cert_fingerprint(
            key, form.cert_fingerprint.data or "", actor=current_user),
        lambda key, fingerprint: _("Key %(prefix)s… is now bound to the certificate "
                                   "%(fingerprint)s.", prefix=key.prefix,
                                   fingerprint=fingerprint) if fingerprint else
        _("Key %(prefix)s… is bound to no certificate.", prefix=key.prefix))


def _int(text):
    """A form's id, or 0 (which names no row: the service answers 404)."""
    return int(text) if str(text).isdigit() else 0
