"""Administration of logins (admin only): deactivating users, listing and revoking API
tokens. Creating logins stays `flask user create` and the insurer pages."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired

from app import access
from app.errors import AppError
from app.services.directory import tokens, users
from app.web.admin import bp
from app.web.formutil import flash_form_errors

FORM_REFUSED = 422


class RevokeTokenForm(FlaskForm):
    """Revoking is final: the admin confirms it."""

    confirm = BooleanField(_l("Yes, revoke: requests with this token are refused"),
                           validators=[DataRequired()])


class DeactivateUserForm(FlaskForm):
    """Deactivating ends the user's sessions and revokes their tokens: the admin confirms."""

    confirm = BooleanField(_l("Yes, deactivate: sessions end and API tokens are revoked"),
                           validators=[DataRequired()])


def _tokens_page(status=200):
    return render_template("admin/tokens.html", tokens=tokens.list_tokens(current_user),
                           form=RevokeTokenForm(formdata=None)), status


def _users_page(status=200):
    return render_template("admin/users.html", users=users.list_users(current_user),
                           form=DeactivateUserForm(formdata=None)), status


@bp.get("/tokens")
def tokens_list():
    """Every API token: prefix, user, created, last used, expiry, revoked."""
    return _tokens_page()


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id):
    """Revoke a token once the admin has confirmed it."""
    found = tokens.find_token(current_user, token_id)
    form = RevokeTokenForm()
    if not form.validate():
        flash_form_errors(form)
        return _tokens_page(FORM_REFUSED)
    tokens.revoke_token(current_user, found)
    flash(_("The token %(prefix)s… was revoked.", prefix=found.prefix), "success")
    return redirect(url_for("admin.tokens_list"))


@bp.get("/users")
def users_list():
    """Every login: e-mail, name, role, active."""
    access.require(current_user, "users.deactivate")
    return _users_page()


@bp.post("/users/<int:user_id>/deactivate")
def deactivate_user(user_id):
    """Deactivate a login once the admin has confirmed it."""
    access.require(current_user, "users.deactivate")
    form = DeactivateUserForm()
    if not form.validate():
        flash_form_errors(form)
        return _users_page(FORM_REFUSED)
    try:
        user = users.deactivate_user(current_user, user_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return _users_page(exc.status)
    flash(_("%(email)s was deactivated.", email=user.email), "success")
    return redirect(url_for("admin.users_list"))
