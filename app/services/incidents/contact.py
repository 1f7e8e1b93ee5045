"""Texts to numbers that cannot take SMS: the timeline's word on it, and the message read out.

Whether a text goes is decided in one place, `notifications.outbox.enqueue_sms`; this says
on the incident's timeline why one did not and what went instead, so the desk knows the
customer, technician or dispatcher was told otherwise (or not at all). A message read out on
a call instead is found here for the call's TwiML page.
"""

from app.domain.phones import normalize_phone
from app.extensions import db
from app.models import Notification
from app.services.incidents.audit import append_event
from notifications.outbox import SPOKEN_MESSAGE_PATH


def note_not_texted(incident, not_texted, now, actor_label="system"):
    """One `dispatch` event `sms_not_sent_<kind>` per number that got no SMS."""
    for skipped in not_texted:
        if skipped is None:
            continue
        data = {"action": f"sms_not_sent_{skipped.kind}", "recipient": skipped.whose,
                "phone": skipped.phone}
        if skipped.instead:
            data["channel"] = skipped.instead
        append_event(incident, kind="dispatch", actor=None, actor_label=actor_label, now=now,
                     data=data)


def spoken_message(notification_id, called_number):
    """(text, locale) of a message to read out on a call we placed, or None: no such voice
    message, or the call reached another number than the message's (nothing is read to a
    stranger)."""
    message = db.session.get(Notification, notification_id)
    if message is None or message.channel != "voice" or \
            (message.context or {}).get("twiml_path") != SPOKEN_MESSAGE_PATH.format(
                id=message.id):
        return None
    if not called_number or normalize_phone(called_number) != normalize_phone(message.recipient):
        return None
    return message.body, message.locale
