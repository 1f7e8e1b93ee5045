"""Writing messages into the outbox, inside the caller's transaction."""

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select, text

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Notification, User

WAKE_CHANNEL = "kaketsuke_outbox"


def render_message(template, channel, locale, context):
    """(subject, body) of a message template in templates/messages/<locale>/."""
    locale = locale if locale in current_app.config["LANGUAGES"] else "ja"
    with force_locale(locale):  # labels in the recipient's language, not the request's
        body = render_template(f"messages/{locale}/{template}.{channel}.txt", **context)
        subject = render_template(f"messages/{locale}/{template}.subject.txt", **context) \
            if channel == "email" else ""
    return subject.strip(), body.strip()


def enqueue(channel, recipient, template, context, *, dedupe_key, locale="ja", incident=None,
            dispatch=None, now=None, max_attempts=None):
    """Add a message to the outbox (no commit: it goes with the caller's change).

    The dedupe key makes enqueueing idempotent: a second message with the same key is
    not added, and the existing one is returned.
    """
    existing = db.session.scalars(
        select(Notification).where(Notification.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return existing
    subject, body = render_message(template, channel, locale, context)
    message = Notification(
        channel=channel, recipient=recipient, template=template, locale=locale,
        context=context, subject=subject, body=body, dedupe_key=dedupe_key,
        next_attempt_at=now or utcnow(), incident=incident, dispatch=dispatch,
        max_attempts=max_attempts or current_app.config["NOTIFY_MAX_ATTEMPTS"],
    )
    db.session.add(message)
    wake_worker()
    return message


def wake_worker():
    """Tell a waiting worker there is work (PostgreSQL delivers NOTIFY at commit)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"NOTIFY {WAKE_CHANNEL}"))


def page_role(role, template, context, *, incident, key, now):
    """Message every active user of `role` (SMS where they have a phone, and e-mail)."""
    people = db.session.scalars(select(User).where(User.role == role, User.active)).all()
    for person in people:
        if person.phone:
            enqueue("sms", person.phone, template, context, incident=incident,
                    dedupe_key=f"{key}:{person.id}:sms", now=now)
        enqueue("email", person.email, template, context, incident=incident,
                dedupe_key=f"{key}:{person.id}:email", now=now)
    if not people:
        current_app.logger.error("Nobody to page about %s (%s): no active %s user",
                                 incident.reference if incident else key, template, role)
    return people
