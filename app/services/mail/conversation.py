"""An incident's conversation: customer mail on its timeline, with its attachments kept
as evidence (or in quarantine with the reason), and the desk's replies and the automatic
acknowledgement sent through the outbox with a Message-ID recorded for threading."""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import access
from app.domain.mail.rules import no_auto_reply_reason, subject_with_reference
from app.domain.timeutil import utcnow
from app.errors import AppError, InvalidInput
from app.extensions import db
from app.models import MailMessage
from app.services.actors import label_for
from app.services.claims.evidence import store_received
from app.services.incidents.audit import append_event
from app.services.transaction import commit_or_conflict
from notifications.outbox import enqueue

MAIL_LABEL = "e-mail"
REPLY_MAX = 20_000
SUBJECT_MAX = 200


def record_on_incident(row, mail, incident, now, *, actor_label=MAIL_LABEL):
    """File a received mail as a customer message of `incident` (no commit)."""
    row.incident_id, row.incident = incident.id, incident
    append_event(incident, kind="mail", actor=None, actor_label=actor_label[:254], now=now,
                 note=row.subject[:SUBJECT_MAX],
                 data={"direction": "in", "message_id": row.message_id,
                       "sha256": row.raw_sha256, "from": row.from_address,
                       "auth_failures": row.auth_failures})
    keep_attachments(row, mail, incident, now)


def keep_attachments(row, mail, incident, now):
    """Each attachment as evidence of the incident, or in quarantine with its reason (its
    bytes stay in the stored mail). Without an incident only their facts are listed."""
    kept = []
    for attachment in mail.attachments:
        entry = {"filename": attachment.filename[:255],
                 "content_type": attachment.content_type[:100],
                 "size": len(attachment.data),
                 "sha256": hashlib.sha256(attachment.data).hexdigest(),
                 "evidence_id": None, "quarantine": None,
                 "forwarded_headers": attachment.forwarded_headers}
        if incident is not None:
            entry["evidence_id"], entry["quarantine"] = _as_evidence(attachment, incident, row,
                                                                     now)
        kept.append(entry)
    row.attachments = kept


def _as_evidence(attachment, incident, row, now):
    try:
        with db.session.begin_nested():
            evidence = store_received(
                incident, attachment.data, attachment.filename,
                label=f"{MAIL_LABEL} {row.from_address}"[:254],
                description=f"{row.subject}"[:500], now=now)
            db.session.flush()
        return evidence.id, None
    except AppError as exc:
        return None, exc.message


def new_message_id():
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "localhost"
    return f"{secrets.token_hex(12)}@{domain}"


def _send(incident, *, kind, to, subject, template, context, headers, dedupe_key, now,
          locale="ja"):
    """One outgoing mail: an outbox row and its MailMessage (no commit)."""
    message_id = new_message_id()
    headers = {"Message-ID": f"<{message_id}>", **headers}
    notification = enqueue("email", to, template, {**context, "headers": list(headers.items())},
                           dedupe_key=dedupe_key, locale=locale, incident=incident, now=now)
    row = MailMessage(direction="out", kind=kind, status="queued", message_id=message_id,
                      from_address=current_app.config["MAIL_FROM"].lower(), to_address=to,
                      subject=notification.subject[:500], text=notification.body,
                      received_at=now, incident_id=incident.id,
                      notification=notification, headers=dict(headers))
    db.session.add(row)
    return row


def acknowledge(row, mail, incident, now):
    """The automatic acknowledgement of a new incident, unless RFC 3834 forbids it or the
    sender already had MAIL_ACK_PER_HOUR of them in the last hour (no commit).

    Returns the reason when none is sent, else None."""
    reason = no_auto_reply_reason(mail)
    if reason is None and _acks_last_hour(row.from_address, now) >= \
            current_app.config["MAIL_ACK_PER_HOUR"]:
        reason = f"more than {current_app.config['MAIL_ACK_PER_HOUR']} acknowledgements an hour"
    if reason is not None:
        return reason
    headers = {"Auto-Submitted": "auto-replied"}
    if row.message_id:
        headers |= {"In-Reply-To": f"<{row.message_id}>", "References": f"<{row.message_id}>"}
    _send(incident, kind="ack", to=row.from_address, subject="", template="mail_ack",
          context={"reference": incident.reference, "summary": incident.summary,
                   "name": row.from_name or row.from_address},
          headers=headers, dedupe_key=f"mail-ack:{incident.id}", now=now)
    return None


def _acks_last_hour(address, now):
    return db.session.scalar(select(func.count(MailMessage.id)).where(
        MailMessage.to_address == address, MailMessage.kind == "ack",
        MailMessage.received_at > now - timedelta(hours=1)))


def reply(incident_id, actor, text, *, subject=None, to=None, now=None):
    """The desk writes to the customer about an incident; committed.

    It goes to the last address that wrote about the incident (or the reporter's), with
    the reference in the subject and In-Reply-To the customer's last mail."""
    access.require(actor, "mail.reply")
    now = now or utcnow()
    incident = access.get_incident_for(actor, incident_id)
    text = (text or "").strip()
    if not text or len(text) > REPLY_MAX:
        raise InvalidInput(f"Write the reply (at most {REPLY_MAX} characters).",
                           {"field": "text"})
    last = _last_received(incident.id)
    to = (to or (last.from_address if last else "") or incident.reporter_email or "").strip()
    if "@" not in to:
        raise InvalidInput("The incident has no e-mail address to reply to.",
                           {"field": "to", "reason": "no_address"})
    base = subject or (f"Re: {last.subject}" if last and last.subject else incident.summary)
    subject = subject_with_reference(_without_re_chain(base), incident.reference)[:SUBJECT_MAX]
    headers = {}
    if last is not None and last.message_id:
        headers = {"In-Reply-To": f"<{last.message_id}>", "References": f"<{last.message_id}>"}
    row = _send(incident, kind="reply", to=to, subject=subject, template="mail_reply",
                context={"subject": subject, "text": text}, headers=headers,
                dedupe_key=f"mail-reply:{incident.id}:{secrets.token_hex(8)}", now=now)
    append_event(incident, kind="mail", actor=actor, actor_label=label_for(actor, ""),
                 now=now, note=subject,
                 data={"direction": "out", "message_id": row.message_id, "to": to})
    commit_or_conflict(incident)
    return row


def _without_re_chain(subject):
    while subject.lower().startswith("re: re:"):
        subject = subject[4:]
    return subject


def _last_received(incident_id):
    return db.session.scalars(select(MailMessage).where(
        MailMessage.incident_id == incident_id, MailMessage.direction == "in")
        .order_by(MailMessage.id.desc())).first()


def conversation(incident):
    """The incident's mail, oldest first (the caller has checked the reader may see it)."""
    return db.session.scalars(select(MailMessage).where(
        MailMessage.incident_id == incident.id).order_by(MailMessage.id)
        .options(selectinload(MailMessage.notification))).all()
