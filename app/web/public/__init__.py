"""Pages anyone can reach: the SME's report form, login, language choice."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.web.public import views  # noqa: E402,F401  (routes register on bp)
