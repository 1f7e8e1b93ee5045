"""Writing messages into the outbox, inside the caller's transaction."""

from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select, text

from app.domain.phones import TAKES_SMS, phone_kind
from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Notification, User

WAKE_CHANNEL = "kaketsuke_outbox"
# Kinds of number (app.domain.phones.phone_kind) a message may be read out to by a call.
TAKES_CALLS = frozenset({"landline", "ip", "free_dial"})
# The TwiML page reading a voice message out (app/webhooks/views.py voice_message).
SPOKEN_MESSAGE_PATH = "/webhooks/twilio/voice/message/{id}"


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


@dataclass(frozen=True)
class NotTexted:
    """An SMS that was not sent because the number cannot take one, and what went instead."""

    phone: str
    kind: str  # app.domain.phones.phone_kind: landline, ip, free_dial, unknown
    whose: str  # reporter, technician, dispatcher, desk
    instead: str = ""  # the channel the caller used instead: voice, email, or "" (nothing)


def enqueue_sms(phone, template, context, *, dedupe_key, whose, instead="", speak=False,
                **options):
    """The one place deciding whether a text goes: an SMS to a mobile (or a foreign number).

    Any other number gets no SMS, and a NotTexted says why. With `speak`, a number that
    takes calls (landline, IP, free dial) is called and the message read out instead (the
    template's .voice.txt, at SPOKEN_MESSAGE_PATH); otherwise the caller sends `instead`, if
    anything. The caller notes the NotTexted on the timeline.
    """
    kind = phone_kind(phone)
    if kind in TAKES_SMS:
        enqueue("sms", phone, template, context, dedupe_key=dedupe_key, **options)
        return None
    if speak and kind in TAKES_CALLS:
        message = enqueue("voice", phone, template, context, dedupe_key=f"{dedupe_key}:spoken",
                          **options)
        db.session.flush()  # the id names the TwiML page that reads the message
        message.context = {**context, "twiml_path": SPOKEN_MESSAGE_PATH.format(id=message.id)}
        return NotTexted(phone, kind, whose, "voice")
    return NotTexted(phone, kind, whose, instead)


def page_role(role, template, context, *, incident, key, now, not_texted=None):
    """Message every active user of `role` (SMS where they have a mobile, and e-mail).

    The numbers that got no SMS are added to the list `not_texted`, when one is given.
    """
    people = db.session.scalars(select(User).where(User.role == role, User.active)).all()
    for person in people:
        if person.phone:
            skipped = enqueue_sms(person.phone, template, context, incident=incident,
                                  dedupe_key=f"{key}:{person.id}:sms", now=now, whose=role,
                                  instead="email")
            if skipped is not None and not_texted is not None:
                not_texted.append(skipped)
        enqueue("email", person.email, template, context, incident=incident,
                dedupe_key=f"{key}:{person.id}:email", now=now)
    if not people:
        current_app.logger.error("Nobody to page about %s (%s): no active %s user",
                                 incident.reference if incident else key, template, role)
    return people
