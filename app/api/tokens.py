"""The caller's own API token: revoking it (DELETE /tokens/current)."""

from flask import g
from flask_openapi3 import Tag

from app.api import bp
from app.services.directory import tokens as service

TAG = Tag(name="tokens", description="The API token in use")


@bp.delete("/tokens/current", tags=[TAG], responses={204: None})
def revoke_current_token():
    """Revoke the token this request is sent with (any role): every later request with it
    is a 401. Nothing is answered (204)."""
    service.revoke_own_token(g.api_user, g.api_token_id)
    return "", 204
