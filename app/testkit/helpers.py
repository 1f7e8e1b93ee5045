"""Small helpers for tests that drive pages and count rows."""

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Incident, IncidentEvent


def csrf_token(client, path):
    """Load a page and read the CSRF token of its (first) form."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def row_counts(app):
    """How many incidents and timeline events exist (to prove a refusal wrote nothing)."""
    with app.app_context():
        counts = (db.session.scalar(select(func.count(Incident.id))),
                  db.session.scalar(select(func.count(IncidentEvent.id))))
        db.session.remove()
    return counts
