"""Every Twilio webhook: signature first, then replay protection, then the view.

Twilio signs the URL it called plus the POST parameters with the account's auth
token (X-Twilio-Signature). Behind a proxy `request.url` names the internal host,
so the URL checked is PUBLIC_BASE_URL + the path and query that reached us.

A signature has no timestamp, so a captured request stays valid forever: each
processed request leaves a WebhookReceipt (a digest of what the signature covers: the
URL and the distinct parameters, as Twilio canonicalizes them), written in the same
transaction as the request's effect. The same request again is a 409 and changes nothing.
"""

import hashlib
from functools import wraps

from flask import Response, current_app, request
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator

from app.extensions import db
from app.models import WebhookReceipt

SIGNATURE_HEADER = "X-Twilio-Signature"


def public_url(path=None):
    """The absolute public URL of `path`, or of the current request as Twilio called it."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + (path if path is not None else request.full_path.removesuffix("?"))


def signed_content(url, params):
    """The string Twilio signs for a form POST: the URL, then for each distinct parameter
    name in order each of its distinct values in order, as name + value (what
    twilio.request_validator computes its HMAC over)."""
    parts = [url]
    for name in sorted(set(params)):
        parts.extend(name + value for value in sorted(set(params.getlist(name))))
    return "".join(parts)


def request_digest(url, params):
    """SHA-256 over exactly what the signature covers: one per signed request.

    A copy with a parameter repeated (`&From=...` again) or an empty pair (`&=`) carries
    the same valid signature, so its identity must not change either: hashing every item
    as sent let each such copy act again.
    """
    return hashlib.sha256(signed_content(url, params).encode()).hexdigest()


def _refuse(status, message):
    return Response(message + "\n", status=status, mimetype="text/plain")


def _signature_problem():
    """Why the current request is not a valid Twilio request, or None when it is."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    if not token:
        current_app.logger.warning("Twilio webhook refused: TWILIO_AUTH_TOKEN is not set")
        return "Twilio webhooks are disabled: no auth token is configured."
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return "The X-Twilio-Signature header is missing."
    if not RequestValidator(token).validate(public_url(), request.form, signature):
        current_app.logger.warning("Twilio webhook refused: bad signature on %s", request.path)
        return "The X-Twilio-Signature does not match this request."
    return None


def _claim_receipt(digest):
    """Put the receipt into the open transaction; False when the request was seen before.

    The INSERT is flushed at once: on PostgreSQL a concurrent copy of the same
    request waits on the key and then fails, instead of acting a second time.
    """
    if db.session.get(WebhookReceipt, digest) is not None:
        db.session.rollback()
        return False
    db.session.add(WebhookReceipt(digest=digest))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _keep_receipt(digest):
    """Make sure the receipt is committed, also when the view rolled its change back."""
    try:
        if db.session.get(WebhookReceipt, digest) is None:
            db.session.add(WebhookReceipt(digest=digest))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent copy recorded it: just as good


def twilio_webhook(view):
    """Refuse unsigned, forged (403) and replayed (409) requests before `view` runs."""
    @wraps(view)
    def checked(*args, **kwargs):
        problem = _signature_problem()
        if problem:
            return _refuse(403, problem)
        digest = request_digest(public_url(), request.form)
        if not _claim_receipt(digest):
            return _refuse(409, "This request has been processed already.")
        response = view(*args, **kwargs)
        _keep_receipt(digest)
        return response
    return checked
