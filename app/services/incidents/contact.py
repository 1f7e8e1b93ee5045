"""The timeline's word on a text that was not sent: the number cannot take SMS.

Whether a text goes is decided in one place, `notifications.outbox.enqueue_sms`; this says
on the incident's timeline why one did not and what went instead, so the desk knows the
customer, technician or dispatcher was told otherwise (or not at all).
"""

from app.services.incidents.audit import append_event


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
