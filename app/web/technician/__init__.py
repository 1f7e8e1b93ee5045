"""The technician's phone pages: offers, accept/decline, depart, arrive, complete.

Also the one-tap link page (/a/<token>) that the offer SMS points to; it needs no
login, the signed single-use token is the credential.
"""

from flask import Blueprint

bp = Blueprint("technician", __name__)

from app.web.technician import (  # noqa: E402,F401  (routes register on bp)
    costs,
    evidence,
    views,
)
