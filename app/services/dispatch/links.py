"""Signed, expiring, single-use one-tap links sent to technicians by SMS."""

import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.errors import AppError

SALT = "offer-link"


class LinkInvalid(AppError):
    """The link was altered, is from elsewhere, or has expired."""

    status, code = 403, "link_invalid"


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def offer_token(dispatch):
    """A token naming the dispatch, its technician and a fresh nonce (the single use)."""
    return _serializer().dumps({"d": dispatch.id, "t": dispatch.technician_id,
                                "n": secrets.token_urlsafe(16)})


def offer_link(dispatch):
    """The absolute one-tap link for the technician's SMS."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/a/{offer_token(dispatch)}"


def read_offer_token(token, now=None):
    """(dispatch_id, technician_id, nonce) of a valid token, else LinkInvalid."""
    try:
        data = _serializer().loads(
            token, max_age=current_app.config["OFFER_LINK_MAX_AGE_SECONDS"])
    except SignatureExpired as exc:
        raise LinkInvalid("This link has expired. Ask the dispatcher to send a new one.",
                          {"reason": "expired"}) from exc
    except BadSignature as exc:
        raise LinkInvalid("This link is not valid.", {"reason": "bad_signature"}) from exc
    return data["d"], data["t"], data["n"]
