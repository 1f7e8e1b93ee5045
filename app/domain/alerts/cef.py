"""CEF (ArcSight Common Event Format) lines, with or without a syslog prefix."""

import re
from datetime import UTC, datetime, timedelta, timezone

from app.domain.alerts.normalized import (
    AlertFormatError,
    NormalizedAlert,
    address,
    aware_utc,
    require_text,
    unique,
)

# A key starts the line or follows a space; key characters never include a backslash,
# so the "=" after a key is never an escaped one.
_KEY = re.compile(r"(?:^|(?<= ))([A-Za-z0-9_.\[\]-]+)=")
_ESCAPE = re.compile(r"\\(.)", re.S)
_EXTENSION_ESCAPES = {"=": "=", "\\": "\\", "n": "\n", "r": "\r"}
_SYSLOG_HOST = (
    re.compile(r"^(?:<\d{1,3}>)?[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} (\S+) "),  # RFC 3164
    re.compile(r"^<\d{1,3}>1 \S+ (\S+) "),  # RFC 5424
)
_CEF_DATE = re.compile(
    r"([A-Z][a-z]{2}) (\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?: (\S+))?")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZONES = {"UTC": UTC, "GMT": UTC, "Z": UTC, "JST": timezone(timedelta(hours=9), "JST")}
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
_SEVERITY_WORDS = {"low": "low", "medium": "medium", "high": "high", "very-high": "critical"}


def parse_cef_line(line):
    """One CEF line (a syslog prefix before "CEF:" is allowed) as a NormalizedAlert."""
    if not isinstance(line, str):
        raise AlertFormatError("a CEF line must be text")
    raw = line.rstrip("\r\n")
    start = raw.find("CEF:")
    if start < 0:
        raise AlertFormatError('not a CEF line: no "CEF:" header')
    header, extension = _split_header(raw[start + 4:])
    version, vendor, product, _device_version, signature, name, severity = header
    if version.strip() not in ("0", "1"):
        raise AlertFormatError(f"unsupported CEF version {version[:20]!r}")
    ext = parse_extension(extension)
    return NormalizedAlert(
        source=f"{require_text(vendor, 'Device Vendor')} {require_text(product, 'Device Product')}",
        sensor=_sensor(ext, _syslog_host(raw[:start])),
        severity=cef_severity(severity),
        rule_id=require_text(signature, "Signature ID"),
        rule_name=require_text(name, "Name"),
        hosts=unique(ext.get(key, "").strip() for key in ("shost", "dhost")),
        addresses=unique(address(ext[key], key) for key in ("src", "dst") if ext.get(key)),
        occurred_at=_occurred_at(ext),
        raw=raw,
    )


def _split_header(text):
    """The seven header fields (\\| and \\\\ unescaped) and the extension after them."""
    fields, current, i = [], [], 0
    while len(fields) < 7:
        if i >= len(text):
            raise AlertFormatError(f"CEF header has {len(fields)} of 7 fields")
        char = text[i]
        if char == "\\" and text[i + 1:i + 2] in ("|", "\\"):
            current.append(text[i + 1])
            i += 2
            continue
        if char == "|":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    return fields, text[i:]


def parse_extension(text):
    """The extension's key=value pairs, values unescaped (\\= \\\\ \\n \\r)."""
    matches = list(_KEY.finditer(text))
    if not matches:
        if text.strip():
            raise AlertFormatError("CEF extension has no key=value pairs")
        return {}
    if text[:matches[0].start()].strip():
        raise AlertFormatError("CEF extension has text before its first key")
    values = {}
    for match, following in zip(matches, matches[1:] + [None], strict=True):
        end = len(text) if following is None else following.start()
        values[match.group(1)] = _unescape(text[match.end():end].rstrip(" "))
    return values


def _unescape(value):
    """An extension value with its escapes resolved; unknown escapes are kept as sent."""
    return _ESCAPE.sub(lambda m: _EXTENSION_ESCAPES.get(m.group(1), m.group(0)), value)


def cef_severity(value):
    """CEF severity 0-10 or Low/Medium/High/Very-High as critical/high/medium/low."""
    text = value.strip()
    if re.fullmatch(r"[0-9]{1,2}", text) and int(text) <= 10:
        number = int(text)
        return "low" if number <= 3 else "medium" if number <= 6 else "high" \
            if number <= 8 else "critical"
    if text.lower() in _SEVERITY_WORDS:
        return _SEVERITY_WORDS[text.lower()]
    raise AlertFormatError(f"CEF severity {text[:20]!r} is not 0-10 or Low/Medium/High/Very-High")


def _syslog_host(prefix):
    """The sending host named in a syslog prefix, if there is one."""
    for pattern in _SYSLOG_HOST:
        match = pattern.match(prefix)
        if match:
            return match.group(1)
    return None


def _sensor(ext, syslog_host):
    """The reporting device: dvchost, else deviceExternalId, the syslog host, dvc."""
    for candidate in (ext.get("dvchost"), ext.get("deviceExternalId"), syslog_host,
                      ext.get("dvc")):
        if candidate and candidate.strip():
            return candidate.strip()
    raise AlertFormatError("no sensor: none of dvchost, deviceExternalId, syslog host, dvc")


def _occurred_at(ext):
    """When it happened: rt, else end, else start."""
    for key in ("rt", "end", "start"):
        if ext.get(key):
            return cef_time(ext[key], key)
    raise AlertFormatError("no event time: none of rt, end, start")


def cef_time(value, name):
    """A CEF time (epoch milliseconds or 'MMM dd yyyy HH:mm:ss[.SSS] zone') as aware UTC."""
    text = value.strip()
    if re.fullmatch(r"[0-9]{1,15}", text):
        try:
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise AlertFormatError(f"{name} is out of range: {text}") from None
    match = _CEF_DATE.fullmatch(text)
    if not match or match.group(1) not in _MONTHS:
        raise AlertFormatError(f"{name} is not epoch ms or 'MMM dd yyyy HH:mm:ss': {text[:40]!r}")
    month, day, year, hour, minute, second, millis, zone = match.groups()
    zone = _zone(zone, name)  # outside the try: AlertFormatError is a ValueError
    try:
        moment = datetime(int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute),
                          int(second), int((millis or "0").ljust(3, "0")) * 1000,
                          tzinfo=zone)
    except ValueError:
        raise AlertFormatError(f"{name} is not a valid date: {text[:40]!r}") from None
    return aware_utc(moment, name)


def _zone(text, name):
    """A CEF time zone (UTC, GMT, Z, JST, +09:00, +0900); None when the time has none."""
    if text is None:
        return None
    if text in _ZONES:
        return _ZONES[text]
    match = _OFFSET.fullmatch(text)
    if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise AlertFormatError(f"{name} has an unknown time zone {text[:20]!r}")
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))
