"""Who is calling: session users (Flask-Login) for pages, bearer tokens for the API."""

import hashlib
import secrets
from functools import wraps

from flask import abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import bindparam, select

from app import access
from app.errors import Unauthorized
from app.extensions import db
from app.models import ApiToken, User

TOKEN_PREFIX = "kkt_"


def init_login(login_manager):
    """Load session users by id; send anonymous people to the login page."""
    login_manager.login_view = "public.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(user_id):
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None


def hash_token(token):
    """Tokens are stored as their SHA-256: a leaked table holds no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user):
    """Make a new API token for `user`; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token),
                            prefix=token[:12]))
    db.session.commit()
    return token


# The query of every API request, built once (its SQL is compiled once too).
_ACTIVE_USER_BY_TOKEN_HASH = select(User).join(ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active)


def user_for_token(token):
    """The active user owning an unrevoked token, or None: one query, every request.

    Nothing is cached, so a revoked token or a deactivated user is refused at once.
    """
    return db.session.scalars(_ACTIVE_USER_BY_TOKEN_HASH,
                              {"token_hash": hash_token(token)}).first()


def bearer_token():
    """The token of 'Authorization: Bearer <token>' ("" when there is none)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def rate_limit_key_for_token():
    """API limits count per token (its hash: no usable token sits in the limiter's storage);
    a request without one counts against its IP."""
    token = bearer_token()
    return "token:" + hash_token(token) if token else "ip:" + (request.remote_addr or "")


def authenticate_api_request():
    """Set g.api_user from the Authorization header or refuse with 401."""
    token = bearer_token()
    if not token:
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
    user = user_for_token(token)
    if user is None:
        raise Unauthorized("The API token is unknown or revoked.")
    g.api_user = user


def permission_required(action):
    """Page decorator: logged in with a role that may take `action` (app/access.py), else
    the login page or 403."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not access.can(current_user, action):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
