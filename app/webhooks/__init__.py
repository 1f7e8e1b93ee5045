"""Webhooks from Twilio: every request's X-Twilio-Signature is verified first."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)  # signed by Twilio instead; no cookies are involved

from app.webhooks import views  # noqa: E402,F401  (routes register on bp)
