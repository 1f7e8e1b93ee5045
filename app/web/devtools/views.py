"""The development "phone": every message of the outbox, as the recipients would see it.

Served only with the console provider (else 404), to anyone logged in, so the whole
dispatch flow can be played on one machine: the accept links in the SMS texts are
clickable and open on this server.
"""

import re
from dataclasses import dataclass, field

from flask import abort, current_app, render_template
from sqlalchemy import select

from app import access
from app.auth import permission_required
from app.extensions import db
from app.models import Notification, Technician, User
from app.web.devtools import bp

PHONE_LIMIT = 500
AUDIENCES = ("technicians", "customers", "dispatchers", "others")
URL = re.compile(r"https?://[^\s<>\"'）」、。]+")


@bp.before_request
def _console_only():
    """With a real provider the messages went to real phones: there is nothing to show."""
    if current_app.config["NOTIFY_PROVIDER"] != "console":
        abort(404)


@dataclass
class Recipient:
    """One phone or mailbox and its messages, newest first."""

    address: str
    name: str = ""
    messages: list = field(default_factory=list)


def _directory():
    """{phone or e-mail: (audience, name)} for technicians and staff."""
    directory = {}
    for tech in db.session.scalars(select(Technician)):
        for address in (tech.phone, tech.email):
            if address:
                directory[address] = ("technicians", tech.name)
    for user in db.session.scalars(select(User).where(User.role.in_(access.STAFF))):
        for address in (user.phone, user.email):
            if address:
                directory.setdefault(address, ("dispatchers", user.name))
    return directory


def _audience(message, directory):
    if message.recipient in directory:
        return directory[message.recipient]
    if message.template.startswith("customer_"):
        return "customers", ""
    return "others", ""


def _grouped(messages):
    """{audience: [Recipient, ...]} in the order of AUDIENCES, newest recipient first."""
    directory = _directory()
    groups = {audience: {} for audience in AUDIENCES}
    for message in messages:
        audience, name = _audience(message, directory)
        recipient = groups[audience].setdefault(message.recipient,
                                                Recipient(message.recipient, name))
        recipient.messages.append(message)
    return {audience: list(found.values()) for audience, found in groups.items() if found}


def body_parts(body):
    """The body as (text, href) pieces: links to this application become local links.

    Only links under PUBLIC_BASE_URL are made clickable (as paths on this server, so
    they work whatever the base URL says); any other URL stays plain text.
    """
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    parts, position = [], 0
    for match in URL.finditer(body):
        url = match.group(0)
        path = url[len(base):] if url.startswith(base + "/") else ""
        parts.append((body[position:match.start()], None))
        parts.append((url, path if path.startswith("/") and not path.startswith("//")
                      else None))
        position = match.end()
    parts.append((body[position:], None))
    return [(text, href) for text, href in parts if text]


@bp.get("/phone")
@permission_required("devtools.phone")  # every tenant's messages and the technicians' accept links
def phone():
    """Every message sent or queued, newest first, grouped by who receives it."""
    messages = db.session.scalars(
        select(Notification).order_by(Notification.id.desc()).limit(PHONE_LIMIT)).all()
    return render_template("devtools/phone.html", groups=_grouped(messages),
                           body_parts=body_parts, limit=PHONE_LIMIT, shown=len(messages))
