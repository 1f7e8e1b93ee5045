"""What became of a sent message: Twilio's status callbacks applied to the outbox.

A status only ever moves a message forward (pending → sending → sent → a final
status); callbacks arrive out of order, so an older one changes nothing. A failed
offer (SMS undelivered, call unanswered) brings the dispatch's next escalation
step forward to now, so the worker acts at once instead of waiting out the timer.
"""

from sqlalchemy import func, select

from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import EscalationStep, Notification
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict, retry_on_conflict
from notifications.outbox import wake_worker

# Twilio's MessageStatus / CallStatus → our Notification.status.
STATUSES = {
    "sms": {"queued": "sent", "accepted": "sent", "scheduled": "sent", "sending": "sent",
            "sent": "sent", "delivered": "delivered", "read": "delivered",
            "undelivered": "undelivered", "failed": "failed", "canceled": "undelivered"},
    "voice": {"queued": "sent", "initiated": "sent", "ringing": "sent", "in-progress": "sent",
              "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered",
              "failed": "undelivered", "canceled": "undelivered"},
}
# The provider statuses that mean the technician was not reached by this attempt.
NOT_REACHED = {"sms": {"failed", "undelivered"}, "voice": {"busy", "no-answer", "failed"}}
RANK = {"pending": 0, "sending": 1, "sent": 2}  # every other status is final
TWILIO = "Twilio"


def record_status(channel, provider_id, provider_status, error_code="", now=None):
    """Apply a status callback; returns the message, or None for an unknown provider id."""
    if not provider_id or channel not in STATUSES:
        return None
    return retry_on_conflict(
        lambda: _record_status(channel, provider_id, provider_status, error_code,
                               now or utcnow()))


def _record_status(channel, provider_id, provider_status, error_code, now):
    # The row lock serialises callbacks for one message (sent and delivered arrive together).
    message = db.session.scalars(
        select(Notification).where(Notification.provider_id == provider_id,
                                   Notification.channel == channel).with_for_update()).first()
    if message is None:
        return None
    status = STATUSES[channel].get(provider_status)
    if status is None or RANK.get(message.status, 3) >= RANK.get(status, 3):
        db.session.commit()  # unknown or older news: nothing to change
        return message
    message.status = status
    if status not in ("sent", "delivered"):
        message.last_error = _error_text(provider_status, error_code)
    if provider_status in NOT_REACHED[channel] and _is_open_offer(message):
        _offer_not_reached(message, provider_status, error_code, now)
        commit_or_conflict(message.incident)
    else:
        db.session.commit()
    return message


def _error_text(provider_status, error_code):
    text = f"twilio: {provider_status}"
    return f"{text} (error {error_code})" if error_code else text


def _is_open_offer(message):
    """An offer whose dispatch is still open, and no later attempt has been made since."""
    dispatch = message.dispatch
    if message.template != "offer" or dispatch is None or dispatch.state != "offered":
        return False
    newer = db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.dispatch_id == dispatch.id, Notification.template == "offer",
            Notification.id > message.id))
    return newer == 0


def _offer_not_reached(message, provider_status, error_code, now):
    """Bring the next step forward and say so on the timeline."""
    dispatch = message.dispatch
    step = bring_next_step_forward(dispatch, now)
    append_event(message.incident, kind="dispatch", actor=None, actor_label=TWILIO, now=now,
                 data={"action": "not_reached", "dispatch_id": dispatch.id,
                       "technician": dispatch.technician.name, "channel": message.channel,
                       "status": provider_status, "error_code": error_code or None,
                       "next_step": step.action if step else None})


def bring_next_step_forward(dispatch, now):
    """Make the dispatch's next pending timer due now; returns that step, or None.

    The dispatcher page is left alone: it counts from the request, not from an offer.
    """
    step = db.session.scalars(
        select(EscalationStep).where(
            EscalationStep.dispatch_id == dispatch.id, EscalationStep.status == "pending",
            EscalationStep.action != "page_dispatcher")
        .order_by(EscalationStep.due_at, EscalationStep.step).limit(1)
        .with_for_update()).first()
    if step is None:
        return None
    if step.due_at > now:
        step.due_at = now
        wake_worker()  # the worker may be asleep until the old due time
    return step
