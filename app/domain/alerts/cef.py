"""CEF (ArcSight Common Event Format) lines as vendors emit them, behind any syslog header.

What the line lacks is filled from its surroundings, never refused for: the time falls back
to vendor time fields, the syslog header and the receive time; the sensor to the syslog
host, the ingest key's default sensor and the sender (docs/alerts.md, "CEF lines").
"""

import re
from datetime import UTC

from app.domain.alerts.normalized import (
    AlertFormatError,
    NormalizedAlert,
    ip_or_none,
    unique,
)
from app.domain.alerts.severity import cef_severity
from app.domain.alerts.syslog import parse_syslog
from app.domain.alerts.times import parse_time, zone_of

# A key starts the extension or follows a space; key characters never include a backslash,
# so the "=" after a key is never an escaped one.
_KEY = re.compile(r"(?:^|(?<= ))([A-Za-z0-9_.\[\]-]+)=")
_ESCAPE = re.compile(r"\\(.)", re.S)
_HEADER_FIELD = re.compile(r"((?:\\.|[^|\\])*)\|", re.S)  # up to an unescaped pipe
_HEADER_ESCAPE = re.compile(r"\\([|\\])")
_EXTENSION_ESCAPES = {"=": "=", "\\": "\\", "n": "\n", "r": "\r"}
_HOST_NAME = re.compile(r"(?=.*[A-Za-z_])[A-Za-z0-9_.-]{1,253}")
_NO_VALUE = {"", "-", "n/a", "na", "none", "null", "unknown"}
# Event time: the CEF fields, then vendor fields (FortiGate's event time is epoch ns).
TIME_FIELDS = ("rt", "end", "start", "deviceCustomDate1", "FTNTFGTeventtime")
SENSOR_FIELDS = ("dvchost", "dvc", "deviceExternalId")
# Fields that tell apart events of one signature id (FortiGate gives every IPS signature
# the same one): attack and virus names, files, registry keys and URLs.
IDENTITY_FIELDS = ("FTNTFGTattack", "FTNTFGTvirus", "filePath", "fname", "request",
                   "requestUrl", "registryKey")
_IDENTITY_LABELS = re.compile(
    r"attack|signature|virus|malware|threat|protection|file|path|registry|url", re.I)


def parse_cef_line(line, received_at, default_sensor=None, syslog=None):
    """One CEF line (any syslog header before it) as a NormalizedAlert.

    received_at (aware) places times without a year and is the last time fallback;
    default_sensor names the sensor when the line names none; syslog is the line's header
    when the caller has read it already."""
    if not isinstance(line, str):
        raise AlertFormatError("a CEF line must be text")
    raw = line.rstrip("\r\n")
    syslog = syslog or parse_syslog(raw, received_at)
    start = syslog.body.find("CEF:")
    if start < 0:
        raise AlertFormatError('not a CEF line: no "CEF:" header')
    header, extension = _split_header(syslog.body[start + 4:])
    version, vendor, product, _device_version, signature, name, severity = header
    if version.strip() not in ("0", "1"):
        raise AlertFormatError(f"unsupported CEF version {version[:20]!r}")
    ext = parse_extension(extension)
    rule_id, rule_name = _rule(signature, name)
    occurred_at, time_source = _occurred_at(ext, syslog, received_at)
    hosts, addresses = _hosts_and_addresses(ext)
    return NormalizedAlert(
        source=f"{vendor.strip()} {product.strip()}".strip() or "CEF",
        sensor=_sensor(ext, syslog.host, default_sensor), severity=cef_severity(severity),
        rule_id=rule_id, rule_name=rule_name, hosts=hosts, addresses=addresses,
        occurred_at=occurred_at, raw=raw, time_source=time_source,
        users=unique(_value(ext, key) for key in ("suser", "duser")),
        identity=_identity(ext, rule_name))


def _split_header(text):
    """The seven header fields (\\| and \\\\ unescaped) and the extension after them."""
    fields, position = [], 0
    while len(fields) < 7:
        match = _HEADER_FIELD.match(text, position)
        if match is None:
            raise AlertFormatError(f"CEF header has {len(fields)} of 7 fields")
        fields.append(_HEADER_ESCAPE.sub(r"\1", match.group(1)))
        position = match.end()
    return fields, text[position:]


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
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: _EXTENSION_ESCAPES.get(m.group(1), m.group(0)), value)


def _value(ext, key):
    """A field's value, None when absent or a placeholder (-, n/a, unknown)."""
    value = (ext.get(key) or "").strip()
    return None if value.lower() in _NO_VALUE else value


def _rule(signature, name):
    """(rule id, rule name): either stands in for the other when empty; both empty refuse."""
    signature, name = signature.strip(), name.strip()
    if not signature and not name:
        raise AlertFormatError("CEF header has neither a Signature ID nor a Name")
    return signature or name, name or signature


def _sensor(ext, syslog_host, default_sensor):
    """The reporting device: dvchost, dvc, deviceExternalId, the syslog host, the key's
    default sensor; never missing (the last resort says so)."""
    candidates = [_value(ext, key) for key in SENSOR_FIELDS] + [syslog_host, default_sensor]
    return next((c.strip() for c in candidates if c and c.strip()), "unknown sensor")


def _occurred_at(ext, syslog, received_at):
    """(when it happened, the field that said so): TIME_FIELDS, the syslog header, else the
    receive time. A field that is present but unreadable refuses the line."""
    zone = _zone(ext) or syslog.zone
    for key in TIME_FIELDS:
        value = _value(ext, key)
        if value:
            return parse_time(value, key, received_at, zone), key
    if syslog.time is not None:
        return syslog.time, "syslog_header"
    return received_at.astimezone(UTC), "received"


def _zone(ext):
    """FortiGate's zone field (FTNTFGTtz=+0900) for the line's naive times."""
    value = _value(ext, "FTNTFGTtz")
    return zone_of(value, "FTNTFGTtz") if value else None


def _hosts_and_addresses(ext):
    """Host names (shost, dhost, then src, dst) and IP addresses (src, dst, shost, dhost),
    each where it belongs: CyberArk puts an address in shost, some devices a name in src."""
    names, addresses = {}, []
    for key in ("src", "dst", "shost", "dhost"):
        value = _value(ext, key)
        if not value:
            continue
        ip = ip_or_none(value)
        if ip:
            addresses.append(ip)
        elif _HOST_NAME.fullmatch(value) or key in ("shost", "dhost"):
            names[key] = value
        else:
            raise AlertFormatError(f"{key} is neither an IP address nor a host name: "
                                   f"{value[:60]!r}")
    return unique(names.get(key) for key in ("shost", "dhost", "src", "dst")), unique(addresses)


def _identity(ext, rule_name):
    """What tells this event apart from others of its signature id: the header's Name,
    attack, virus, file, registry and URL fields, and custom strings labelled as such."""
    values = [rule_name] + [_value(ext, key) for key in IDENTITY_FIELDS]
    for number in range(1, 7):
        label = ext.get(f"cs{number}Label", "")
        if _IDENTITY_LABELS.search(label):
            values.append(_value(ext, f"cs{number}"))
    return unique(values)
