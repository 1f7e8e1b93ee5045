"""One received mail, processed exactly once: it ends as an incident, a message on an
incident, an unmatched mail for the desk, or a refused mail with its reason.

Exactly once: a mail is known by where it was read (mailbox, UIDVALIDITY, UID) and by
its Message-ID with the SHA-256 of its bytes. `receive` returns the existing row for a
mail already processed (the poller then only moves it to the done folder), and the
unique key makes a second process that raced it roll back instead of adding a copy.
"""

import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from app.domain.mail.parse import parse_mail
from app.domain.mail.rules import authentication_failures, reference_in
from app.domain.timeutil import utcnow
from app.extensions import db
from app.models import Incident, MailMessage
from app.services.incidents.intake import IntakeRequest, report_incident
from app.services.mail.conversation import (
    MAIL_LABEL,
    acknowledge,
    keep_attachments,
    record_on_incident,
)
from app.services.mail.senders import known_for_incident, organization_for_sender

KEPT_HEADERS = ("from", "to", "cc", "date", "subject", "message-id", "in-reply-to",
                "references", "authentication-results", "auto-submitted", "precedence",
                "list-id", "reply-to", "return-path")
HEADER_VALUE_MAX = 2000
SUMMARY_MAX = 200


@dataclass(frozen=True)
class Source:
    """Where a mail was read: the mailbox (user@host/folder), UIDVALIDITY and UID."""

    mailbox: str
    uidvalidity: int
    uid: int


def already_received(source=None, message_id="", sha256=""):
    """The row of a mail processed before, by its UID or its Message-ID and content
    (one query)."""
    found_by = []
    if source is not None:
        found_by.append(and_(MailMessage.mailbox == source.mailbox,
                             MailMessage.uidvalidity == source.uidvalidity,
                             MailMessage.uid == source.uid))
    if message_id and sha256:
        found_by.append(and_(MailMessage.direction == "in",
                             MailMessage.message_id == message_id[:500],
                             MailMessage.raw_sha256 == sha256))
    if not found_by:
        return None
    return db.session.scalars(select(MailMessage).where(or_(*found_by)).limit(1)).first()


def receive(raw, source=None, now=None, commit=True):
    """Process one mail and commit; a mail seen before is returned as it is.

    commit=False leaves the commit to a caller that commits several mails at once (the
    poller); a unique-key clash then surfaces at its commit."""
    now = now or utcnow()
    sha256 = hashlib.sha256(raw).hexdigest()
    mail, problem = _parsed(raw)
    message_id = mail.message_id if mail else ""
    existing = already_received(source, sha256=sha256, message_id=message_id)
    if existing is not None:
        return existing
    try:
        row = _process(raw, mail, problem, sha256, source, now)
        db.session.add(row)  # last: one INSERT with everything decided
        if not commit:
            return row
        db.session.commit()
    except IntegrityError:  # another poller committed this UID first
        db.session.rollback()
        existing = already_received(source, sha256=sha256, message_id=message_id)
        if existing is None:
            raise
        return existing
    return row


def _parsed(raw):
    """(ParsedMail, None), or (headers only, why the mail is refused)."""
    limit = current_app.config["MAIL_MAX_BYTES"]
    if len(raw) > limit:
        return _headers_only(raw), f"larger than {limit} bytes ({len(raw)})"
    try:
        return parse_mail(raw), None
    except Exception as exc:  # noqa: BLE001 - a mail the parser cannot read is refused
        return None, f"unreadable: {type(exc).__name__}"


def _process(raw, mail, problem, sha256, source, now):
    """The mail's row, not yet in the session: refused, or routed."""
    config = current_app.config
    row = MailMessage(direction="in", kind="customer", status="refused", raw_sha256=sha256,
                      received_at=now, mailbox=source.mailbox if source else None,
                      uidvalidity=source.uidvalidity if source else None,
                      uid=source.uid if source else None, reason="", auth_failures="",
                      attachments=[], headers={})
    if mail is not None:
        _describe(row, mail)
    if problem:
        row.reason = problem
        row.raw = raw if mail is None else None  # an over-limit mail is not stored
        return row
    row.raw = raw
    refusal = _refusal(mail, config)
    if refusal:
        row.reason = refusal
        keep_attachments(row, mail, None, now)
        return row
    _route(row, mail, now)
    return row


def _headers_only(raw):
    head = raw[:256 * 1024].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return parse_mail(head + b"\r\n\r\n")


def _describe(row, mail):
    row.message_id = mail.message_id[:500]
    row.from_address = mail.from_address[:254]
    row.from_name = mail.from_name[:200]
    row.subject = mail.subject[:500]
    row.text = mail.text
    row.headers = {name: [value[:HEADER_VALUE_MAX] for value in values[:5]]
                   for name, values in mail.headers.items() if name in KEPT_HEADERS}
    if mail.defects:
        row.headers["x-kaketsuke-defects"] = sorted(set(mail.defects))[:20]


def _refusal(mail, config):
    if not mail.from_address or "@" not in mail.from_address:
        return "no sender address (From)"
    if mail.recipients > config["MAIL_MAX_RECIPIENTS"]:
        return f"{mail.recipients} recipients (more than {config['MAIL_MAX_RECIPIENTS']})"
    return None


def _route(row, mail, now):
    failures = authentication_failures(mail, current_app.config["MAIL_AUTHSERV_ID"])
    row.auth_failures = " ".join(failures)[:200]
    if failures:
        _unmatched(row, mail, now, "authentication failed: " + row.auth_failures)
        return
    incident, why_not = thread_of(row, mail)
    if incident is not None:
        row.status = "message"
        record_on_incident(row, mail, incident, now)
    elif why_not:
        _unmatched(row, mail, now, why_not)
    else:
        organization = organization_for_sender(row.from_address)
        if organization is None:
            _unmatched(row, mail, now, "unknown sender")
        else:
            open_incident(row, mail, organization, now)


def _unmatched(row, mail, now, reason):
    row.status, row.reason = "unmatched", reason
    keep_attachments(row, mail, None, now)


def thread_of(row, mail):
    """(incident, None) when the mail answers one; (None, reason) when it names one it may
    not join; (None, None) when it names none.

    In-Reply-To/References naming a mail Kaketsuke sent are enough (only its recipient
    saw that Message-ID); a reference in the subject counts only from an address known
    for that incident, so nobody can write into another's incident by guessing numbers.
    """
    ids = mail.in_reply_to + mail.references
    if ids:
        sent = db.session.scalars(select(MailMessage).where(
            MailMessage.direction == "out", MailMessage.message_id.in_(ids[:50]),
            MailMessage.incident_id.is_not(None))).first()
        if sent is not None:
            return sent.incident, None
    reference = reference_in(mail.subject)
    if reference is None:
        return None, None
    incident = db.session.scalars(select(Incident).where(Incident.reference == reference)) \
        .first()
    if incident is not None and known_for_incident(row.from_address, incident):
        return incident, None
    return None, f"names {reference}, but the sender is not known for it"


def open_incident(row, mail, organization, now):
    """A new incident (channel e-mail) from the mail: subject, text, sender; then the
    acknowledgement. The first-response clock starts at `now`, the receipt (no commit)."""
    config = current_app.config
    summary = (mail.subject or mail.text.split("\n", 1)[0] or "(no subject)").strip()
    request = IntakeRequest(
        organization_id=organization.id, channel="email",
        category=config["MAIL_INCIDENT_CATEGORY"], severity=config["MAIL_INCIDENT_SEVERITY"],
        summary=summary[:SUMMARY_MAX], description=mail.text,
        reporter_name=mail.from_name[:100], reporter_email=row.from_address)
    incident = report_incident(request, actor=None, actor_label=MAIL_LABEL, now=now,
                               commit=False)
    row.status = "incident"
    record_on_incident(row, mail, incident, now)
    db.session.add(row)  # before the acknowledgement: the conversation reads in id order
    ack_refused = acknowledge(row, mail, incident, now)
    if ack_refused:
        row.reason = f"no acknowledgement: {ack_refused}"
    return incident
