"""Syslog headers in the forms appliances send: RFC 5424, RFC 3164 (with or without PRI,
with or without a host), an ISO 8601 time followed by a host or an address, and FortiGate's
`date=... time=... devname=...` preamble before CEF. Pure: the receiver and the HTTP path
both read lines through here (docs/alerts.md, "Syslog headers").
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.alerts.normalized import AlertFormatError
from app.domain.alerts.times import parse_time, zone_of

_PRI = re.compile(r"<(\d{1,3})>")
_RFC3164_TIME = re.compile(
    r"([A-Z][a-z]{2} +\d{1,2}(?: \d{4})? \d{1,2}:\d{2}:\d{2}(?:\.\d{1,6})?) +")
_ISO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?"
                       r"(?:Z|[+-]\d{2}:?\d{2})?) +")
_TAG = re.compile(r"[A-Za-z0-9_./()-]{1,48}(?:\[[^\]\s]{0,32}\])?:")
_PREAMBLE_PAIR = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_-]*)=("[^"]*"|\S*)')
_SD_ID = re.compile(r'\[([^\s=\]"]+)')
_SD_PARAM = re.compile(r' ([^\s=\]"]+)="')
_NIL = "-"


@dataclass(frozen=True)
class SyslogLine:
    """A line split into what its header says and the message (the CEF or JSON body)."""

    body: str
    time: datetime | None = None  # aware UTC; None when the header has none or a bad one
    host: str | None = None
    app: str | None = None
    zone: object = None  # a tzinfo the header names for the body's naive times (FortiGate tz)
    structured: dict = field(default_factory=dict)  # RFC 5424 SD: {sd-id: {name: value}}


def parse_syslog(line, received_at):
    """The header and body of one line; a line without a header is all body."""
    rest, has_pri = line, False
    match = _PRI.match(rest)
    if match:
        rest, has_pri = rest[match.end():], True
    if has_pri and rest.startswith("1 "):
        return _rfc5424(rest[2:], received_at)
    for pattern in (_RFC3164_TIME, _ISO_TIME):
        match = pattern.match(rest)
        if match:
            time = _header_time(match.group(1), received_at)
            host, app, body = _host_and_tag(rest[match.end():])
            return _with_preamble(SyslogLine(body=body, time=time, host=host, app=app),
                                  received_at)
    return _with_preamble(SyslogLine(body=rest), received_at)


def _header_time(text, received_at, zone=None):
    """A header time, or None: the header time is only a fallback, so a bad one is no error."""
    try:
        return parse_time(text, "syslog header time", received_at, zone)
    except AlertFormatError:
        return None


def _host_and_tag(rest):
    """(host, app, message) after a header time: a body may follow directly, or a tag
    ("sshd[42]:") without a host."""
    if _is_body(rest):
        return None, None, rest
    first, _, after = rest.partition(" ")
    if _TAG.fullmatch(first):
        return None, _tag_name(first), after
    host, rest = first, after.lstrip(" ")
    second, _, after = rest.partition(" ")
    if not _is_body(rest) and _TAG.fullmatch(second):
        return host, _tag_name(second), after
    return host, None, rest


def _is_body(text):
    return text.startswith(("CEF:", "{", "date="))


def _tag_name(tag):
    """'sshd[42]:' -> 'sshd'."""
    return tag.rstrip(":").split("[", 1)[0]


def _rfc5424(rest, received_at):
    """'TIMESTAMP HOST APP PROCID MSGID SD MSG' after '<PRI>1 ' (NILVALUE '-' anywhere)."""
    parts = rest.split(" ", 5)
    if len(parts) < 6:
        return SyslogLine(body=rest)
    timestamp, host, app, _procid, _msgid, tail = parts
    structured, message = _structured_data(tail)
    return SyslogLine(
        body=message.removeprefix("\ufeff"),
        time=None if timestamp == _NIL else _header_time(timestamp, received_at),
        host=None if host == _NIL else host, app=None if app == _NIL else app,
        structured=structured)


def _structured_data(text):
    """({sd-id: {param: value}}, message) from '- msg' or '[id a="1" b="x\\]y"][id2] msg';
    text that is not well-formed structured data is all message."""
    if text == _NIL or text.startswith(_NIL + " "):
        return {}, text[2:]
    elements, i = {}, 0
    while (element := _SD_ID.match(text, i)) is not None:
        params, i = {}, element.end()
        while (param := _SD_PARAM.match(text, i)) is not None:
            value, i = _sd_value(text, param.end())
            if i is None:
                return {}, text
            params[param.group(1)] = value
        if text[i:i + 1] != "]":
            return {}, text
        elements[element.group(1)] = params
        i += 1
    if not elements:
        return {}, text
    return elements, text[i:].removeprefix(" ")


def _sd_value(text, i):
    """A quoted SD parameter value from i (after the opening quote): (value, index after
    the closing quote)."""
    value = []
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1:i + 2] in ('"', "\\", "]"):
            value.append(text[i + 1])
            i += 2
        elif char == '"':
            return "".join(value), i + 1
        else:
            value.append(char)
            i += 1
    return None, None


def _with_preamble(parsed, received_at):
    """FortiGate's key=value preamble before 'CEF:' (date, time, tz, devname) fills what the
    header left out; other bodies are returned as they are."""
    body = parsed.body
    start = body.find("CEF:")
    if not body.startswith("date=") or start < 0:
        return parsed
    pairs = {key: value.strip('"') for key, value in _PREAMBLE_PAIR.findall(body[:start])}
    zone = _zone_or_none(pairs.get("tz"))
    time = parsed.time
    if time is None and pairs.get("date") and pairs.get("time"):
        time = _header_time(f"{pairs['date']} {pairs['time']}", received_at, zone)
    return SyslogLine(body=body[start:], time=time, host=parsed.host or pairs.get("devname"),
                      app=parsed.app, zone=zone, structured=parsed.structured)


def _zone_or_none(text):
    try:
        return zone_of(text, "tz") if text else None
    except AlertFormatError:
        return None
