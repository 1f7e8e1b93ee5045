"""The e-mail channel's JSON: one mail as the API and the pages show it."""

from app import access
from app.domain.timeutil import isoformat_utc
from app.services.mail.conversation import conversation


def attachment(entry):
    return {"filename": entry.get("filename", ""), "content_type": entry.get("content_type", ""),
            "size": entry.get("size", 0), "sha256": entry.get("sha256", ""),
            "evidence_id": entry.get("evidence_id"), "quarantine": entry.get("quarantine"),
            "forwarded_headers": entry.get("forwarded_headers") or {}}


def mail_message(row):
    return {"id": row.id, "direction": row.direction, "kind": row.kind, "status": row.status,
            "reason": row.reason, "message_id": row.message_id, "from": row.from_address,
            "to": row.to_address, "subject": row.subject, "text": row.text,
            "received_at": isoformat_utc(row.received_at), "auth_failures": row.auth_failures,
            "delivery": row.notification.status if row.notification is not None else None,
            "attachments": [attachment(a) for a in row.attachments or []]}


def incident_messages(incident, user):
    """The conversation, for those who may read it (null for the others)."""
    if not access.can(user, "mail.read"):
        return None
    return [mail_message(row) for row in conversation(incident)]
