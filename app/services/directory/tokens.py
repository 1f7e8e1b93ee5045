"""API tokens: listing and revoking them (`flask token`, the admin page, the API's
DELETE /tokens/current). Creating one is app/auth.create_token."""

from sqlalchemy import select, update

from app import access
from app.domain.timeutil import utcnow
from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import ApiToken, User
from app.services import admin_log


def list_tokens(actor, email=None):
    """Every token (of the user with `email` when given), newest first, with its user."""
    access.require(actor, "tokens.manage")
    query = select(ApiToken).join(User, ApiToken.user_id == User.id) \
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if email is not None:
        query = query.where(User.email == email.strip().lower())
    return db.session.scalars(query).all()


def find_token(actor, prefix_or_id):
    """The token with this id, or the one whose prefix this is; refused when none or several
    match."""
    access.require(actor, "tokens.manage")
    text = str(prefix_or_id).strip()
    if text.isdigit():
        token = db.session.get(ApiToken, int(text))
        if token is None:
            raise NotFound(f"No API token has the id {text}.")
        return token
    if len(text) < 6:
        raise InvalidInput("Give a token's id, or at least 6 characters of its prefix.",
                           {"field": "token"})
    found = db.session.scalars(select(ApiToken).where(ApiToken.prefix.startswith(
        text, autoescape=True)).limit(2)).all()
    if not found:
        raise NotFound(f"No API token has the prefix {text}.")
    if len(found) > 1:
        raise InvalidInput(f"Several API tokens start with {text}: give its id.",
                           {"field": "token"})
    return found[0]


def revoke_token(actor, token):
    """Revoke `token` (a revoked one stays revoked as it was). One commit."""
    access.require(actor, "tokens.manage")
    if token.revoked_at is None:
        before = admin_log.snapshot(token)
        token.revoked_at = utcnow()
        admin_log.record(actor, "api_token", "updated", token, before)
    db.session.commit()


def revoke_own_token(user, token_id):
    """The API caller revokes the token it is calling with. One commit."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("The token is unknown.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    db.session.commit()


def revoke_all_of(user):
    """Revoke every live token of `user`, in the caller's transaction (no commit)."""
    db.session.execute(update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow()))
