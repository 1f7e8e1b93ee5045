"""Development aids, served only with the console provider: the "phone" page."""

from flask import Blueprint

bp = Blueprint("devtools", __name__)

from app.web.devtools import views  # noqa: E402,F401  (routes register on bp)
