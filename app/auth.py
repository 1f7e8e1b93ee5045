"""Who is calling: session users (Flask-Login) for pages, bearer tokens for the API."""

import hashlib
import secrets
from datetime import timedelta
from functools import wraps

from flask import abort, current_app, g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from app import access
from app.domain.timeutil import utcnow
from app.errors import Unauthorized
from app.extensions import db
from app.models import ApiToken, User
from app.services.directory import users

TOKEN_PREFIX = "kkt_"
# When the session's login began and when it was last used (POSIX seconds, UTC).
LOGIN_AT, SEEN_AT = "_login_at", "_seen_at"
SEEN_RESOLUTION_SECONDS = 60  # the cookie is rewritten at most once a minute for SEEN_AT
_SESSION_KEYS = ("_user_id", "_fresh", "_id", "_remember", LOGIN_AT, SEEN_AT)


def init_login(login_manager):
    """Load session users by id and session epoch; send anonymous people to the login page."""
    login_manager.login_view = "public.login"
    login_manager.login_message = None
    login_manager.user_loader(load_session_user)


def _timestamp():
    return utcnow().timestamp()


def load_session_user(session_id):
    """The active user a session names, while the session is current: its epoch is the
    user's (no logout, new password or deactivation since), it was used within
    SESSION_IDLE_MINUTES and began within SESSION_ABSOLUTE_HOURS. Else the session ends."""
    user_id, _, epoch = str(session_id).partition(".")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or epoch != str(user.session_epoch or 0) \
            or not _session_in_time(_timestamp()):
        _forget_login()
        return None
    return user


def _session_in_time(now):
    """Within the idle and absolute lifetimes; the last-seen time moves on."""
    config = current_app.config
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        return False  # a session without them predates the rule (or a remember cookie)
    if now - login_at > config["SESSION_ABSOLUTE_HOURS"] * 3600 \
            or now - seen_at > config["SESSION_IDLE_MINUTES"] * 60:
        return False
    if now - seen_at >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_AT] = now
    return True


def _forget_login():
    for key in _SESSION_KEYS:
        session.pop(key, None)


def start_session(user):
    """Log `user` in for this browser, with the login and last-seen times set to now."""
    login_user(user)
    session[LOGIN_AT] = session[SEEN_AT] = _timestamp()


def end_session():
    """Log out here and end every other session of the user (their epoch moves on)."""
    if current_user.is_authenticated:
        users.end_sessions(current_user)
    logout_user()
    _forget_login()


def _dummy_hash():
    """A hash of the configured method, checked when there is no account to check against."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    cache = current_app.extensions.setdefault("kaketsuke_dummy_hash", {})
    if method not in cache:
        cache[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return cache[method]


def authenticate(email, password):
    """The active user with `email` and `password`, or None. One password hash is checked
    whatever the outcome, so an unknown or inactive account answers as slowly as a wrong
    password and the time tells nobody which accounts exist."""
    user = db.session.scalars(
        select(User).where(User.email == email.strip().lower())).first()
    own_hash = user is not None and user.active and bool(user.password_hash)
    matches = check_password_hash(user.password_hash if own_hash else _dummy_hash(), password)
    return user if own_hash and matches else None


def hash_token(token):
    """Tokens are stored as their SHA-256: a leaked table holds no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, expires_days=None):
    """Make a new API token for `user`, valid for `expires_days` days (None: until revoked);
    the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token),
                            prefix=token[:12], expires_at=expires_at))
    db.session.commit()
    return token


# The query of every API request, built once (its SQL is compiled once too).
_ACTIVE_USER_BY_TOKEN_HASH = select(User, ApiToken.id).join(
    ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None),
    or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now")), User.active)


def user_and_token_id(token):
    """(the active user owning an unrevoked, unexpired token, the token's id), or
    (None, None): one query, every request.

    Nothing is cached, so a revoked token or a deactivated user is refused at once.
    """
    row = db.session.execute(_ACTIVE_USER_BY_TOKEN_HASH,
                             {"token_hash": hash_token(token), "now": utcnow()}).first()
    return (row[0], row[1]) if row is not None else (None, None)


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
    user, token_id = user_and_token_id(token)
    if user is None:
        raise Unauthorized("The API token is unknown, expired or revoked.")
    g.api_user, g.api_token_id = user, token_id


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
