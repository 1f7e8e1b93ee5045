"""Technicians, shifts, candidates and dispatches as API JSON."""

from app import access
from app.domain.labels import prefecture_name
from app.domain.timeutil import isoformat_utc
from workflows import DISPATCH


def technician(tech, on_call_now):
    """A technician as listed to staff."""
    return {"id": tech.id, "name": tech.name, "company": tech.company, "phone": tech.phone,
            "email": tech.email, "prefectures": list(tech.prefectures or []),
            "skills": list(tech.skills or []), "hourly_rate": tech.hourly_rate,
            "active": tech.active, "locale": tech.locale, "on_call_now": on_call_now}


def shift(row):
    """An on-call shift, times in UTC."""
    return {"id": row.id, "technician_id": row.technician_id,
            "starts_at": isoformat_utc(row.starts_at), "ends_at": isoformat_utc(row.ends_at),
            "note": row.note}


def candidate(rank, tech, incident, on_call, load):
    """A ranked candidate and why they fit: on call, prefecture, skill, load."""
    prefecture = incident.organization.prefecture
    return {"rank": rank, "technician": technician(tech, True),
            "fit": {"on_call_until": isoformat_utc(on_call.ends_at), "prefecture": prefecture,
                    "prefecture_name": prefecture_name(prefecture), "skill": incident.category,
                    "open_dispatches": load}}


def escalation(step):
    """One escalation timer and what came of it."""
    return {"step": step.step, "action": step.action, "due_at": isoformat_utc(step.due_at),
            "status": step.status, "done_at": isoformat_utc(step.done_at),
            "outcome": step.outcome}


def notification(message):
    """One message of the outbox and its delivery attempts."""
    return {"id": message.id, "channel": message.channel, "template": message.template,
            "recipient": message.recipient, "status": message.status,
            "attempts": message.attempts, "max_attempts": message.max_attempts,
            "provider_id": message.provider_id, "last_error": message.last_error,
            "created_at": isoformat_utc(message.created_at),
            "sent_at": isoformat_utc(message.sent_at)}


def customer_signoff(row):
    """The customer's online sign-off of the work report, or None before it is given."""
    if row.customer_signoff_at is None:
        return None
    return {"at": isoformat_utc(row.customer_signoff_at), "by": row.customer_signoff_label,
            "comment": row.customer_signoff_comment}


def dispatch(row, user, messages=()):
    """A dispatch with its times; timers and messages for those who act on them."""
    attempts = access.can(user, "dispatches.attempts")  # timers and messages, recipients too
    tech = row.technician
    return {
        "id": row.id, "incident_id": row.incident_id,
        "incident_reference": row.incident.reference, "state": row.state,
        "version": row.version,
        "technician": {"id": tech.id, "name": tech.name, "company": tech.company},
        "offered_at": isoformat_utc(row.offered_at), "offered_by": row.offered_by,
        "responded_at": isoformat_utc(row.responded_at),
        "departed_at": isoformat_utc(row.departed_at),
        "arrived_at": isoformat_utc(row.arrived_at),
        "completed_at": isoformat_utc(row.completed_at),
        "decline_reason": row.decline_reason, "cancel_reason": row.cancel_reason,
        "work_report": row.work_report, "signoff_name": row.signoff_name,
        "customer_signoff": customer_signoff(row),
        "allowed_triggers": DISPATCH.allowed_triggers(row.state, user.role),
        "escalation_step": row.escalation_step,
        "escalations": [escalation(s) for s in row.escalations] if attempts else None,
        "notifications": [notification(m) for m in messages] if attempts else None,
    }
