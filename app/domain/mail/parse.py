"""One received mail, from its raw bytes to what the desk reads: never raises.

The parser is the standard library's, in its lenient compat32 mode: malformed MIME
becomes a list of defects, not an exception. Text parts are decoded with the Japanese
fallbacks (japanese.py); an HTML-only mail becomes plain text with no markup, script or
style; every other part, and a forwarded mail (message/rfc822), is an attachment.
"""

import email
import email.utils
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser

from app.domain.mail.headers import decode_header
from app.domain.mail.japanese import decode_bytes

SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID")


@dataclass
class Attachment:
    """One attached file: its bytes exactly as sent, and the name it was sent under."""

    filename: str
    content_type: str
    data: bytes
    # A forwarded mail's own headers (message/rfc822), shown to the desk.
    forwarded_headers: dict = field(default_factory=dict)


@dataclass
class ParsedMail:
    message_id: str
    from_address: str
    from_name: str
    subject: str
    text: str
    date: datetime | None
    in_reply_to: list
    references: list
    recipients: int
    headers: dict  # decoded headers as lists of values, lower-case names
    attachments: list
    defects: list

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else ""


def parse_mail(raw):
    """A ParsedMail of the raw message bytes."""
    message = email.message_from_bytes(raw)
    headers = {}
    for name, value in message.raw_items():  # as received: raw 8-bit bytes kept
        headers.setdefault(name.lower(), []).append(decode_header(value))
    from_name, from_address = email.utils.parseaddr(headers.get("from", [""])[0])
    text, attachments, defects = _body(message)
    return ParsedMail(
        message_id=_first_id(headers.get("message-id", [""])[0]),
        from_address=from_address.strip().lower(), from_name=from_name.strip(),
        subject=headers.get("subject", [""])[0], text=text,
        date=_date(headers.get("date", [""])[0]),
        in_reply_to=_ids(" ".join(headers.get("in-reply-to", []))),
        references=_ids(" ".join(headers.get("references", []))),
        recipients=_count_recipients(headers), headers=headers, attachments=attachments,
        defects=defects + [type(d).__name__ for d in message.defects])


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def _ids(value):
    return _MESSAGE_ID.findall(value or "")


def _first_id(value):
    ids = _ids(value)
    return ids[0] if ids else (value or "").strip()[:500]


def _count_recipients(headers):
    values = headers.get("to", []) + headers.get("cc", [])
    return len([address for _name, address in email.utils.getaddresses(values) if address])


def _date(value):
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed
    return parsed.astimezone(UTC).replace(tzinfo=None)


def _body(message):
    """(text, attachments, defects): the plain text parts, or the HTML ones as text."""
    plain, html, attachments, defects = [], [], [], []
    for part in _leaves(message, defects):
        try:
            _take(part, plain, html, attachments)
        except Exception as exc:  # noqa: BLE001 - one broken part must not lose the mail
            defects.append(f"{type(exc).__name__} in a {part.get_content_type()} part")
    text = "\n\n".join(plain) if plain else "\n\n".join(html_to_text(h) for h in html)
    return text.replace("\r\n", "\n").strip(), attachments, defects


def _leaves(message, defects):
    """The parts that hold content, depth first; a forwarded mail is one leaf."""
    stack = [message]
    while stack:
        part = stack.pop(0)
        defects.extend(type(d).__name__ for d in part.defects if part is not message)
        if part.get_content_type() == "message/rfc822":
            yield part
        elif part.is_multipart():
            payload = part.get_payload()
            stack[0:0] = payload if isinstance(payload, list) else []
        else:
            yield part


def _take(part, plain, html, attachments):
    content_type = part.get_content_type()
    filename = decode_header(part.get_filename() or part.get_param("name") or "")
    if isinstance(filename, tuple):  # an RFC 2231 value the parser left undecoded
        filename = decode_bytes(filename[2].encode("latin-1"), filename[0])
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if content_type == "message/rfc822":
        attachments.append(_forwarded(part, filename))
        return
    data = part.get_payload(decode=True) or b""
    if content_type in ("text/plain", "text/html") and not filename \
            and disposition != "attachment":
        text = decode_bytes(data, part.get_content_charset() or "")
        (plain if content_type == "text/plain" else html).append(text)
        return
    attachments.append(Attachment(filename or "attachment", content_type, data))


def _forwarded(part, filename):
    inner = part.get_payload()
    inner = inner[0] if isinstance(inner, list) and inner else inner
    data = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
    shown = {name: decode_header(inner.get(name)) for name in SHOWN_HEADERS
             if hasattr(inner, "get") and inner.get(name) is not None}
    name = filename or (shown.get("Subject", "forwarded")[:80] + ".eml")
    return Attachment(name, "message/rfc822", data, forwarded_headers=shown)


class _TextOfHtml(HTMLParser):
    """Text of an HTML document: no tags, no script or style, block ends as new lines."""

    SKIP = {"script", "style", "head", "title"}
    BREAKS = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BREAKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BREAKS:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(data)


def html_to_text(document):
    """Plain text of an HTML body (what the desk may safely read)."""
    parser = _TextOfHtml()
    try:
        parser.feed(document)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; belt and braces
        return re.sub(r"<[^>]*>", "", document)
    text = "".join(parser.out)
    text = re.sub(r"[ \t\xa0]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
