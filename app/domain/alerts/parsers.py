"""Alert bodies (JSON documents, NDJSON, CEF or syslog lines) read record by record into
NormalizedAlerts, each with its line number and, when it cannot be read, the reason.

Pure functions: no database, no request. The formats are documented in docs/alerts.md.
A body is refused as a whole (AlertFormatError) only when it cannot be read at all: an
unsupported type or charset, a JSON document that is not JSON, nothing in it.
"""

import codecs
import dataclasses
import hashlib
import json
from dataclasses import dataclass

from app.domain.alerts import vendors
from app.domain.alerts.cef import parse_cef_line
from app.domain.alerts.normalized import (
    SEVERITIES,
    AlertFormatError,
    Context,
    NormalizedAlert,
    address,
    iso_timestamp,
    require_text,
    unique,
)
from app.domain.alerts.syslog import parse_syslog
from app.domain.alerts.wazuh import is_wazuh, parse_wazuh
from app.domain.safetext import json_problem, unsafe

__all__ = ["AlertFormatError", "Context", "NormalizedAlert", "Outcome", "dedup_key",
           "parse_cef_line", "parse_generic", "parse_lines", "parse_payload", "parse_record",
           "parse_wazuh"]

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl",
                "application/x-jsonlines", "application/json-lines")
TEXT_TYPES = ("text/plain", "application/cef", "text/x-cef", "application/syslog")
SOURCES = ("generic", "wazuh", *vendors.ADAPTERS)  # the `source` an HTTP sender may name
# Charsets as senders name them, and the codec that reads them (CP932 is the Windows
# superset of Shift_JIS that Japanese appliances actually write).
CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "utf-8", "ascii": "utf-8",
            "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
            "windows-31j": "cp932", "cp932": "cp932", "ms932": "cp932",
            "euc-jp": "euc_jp", "eucjp": "euc_jp", "x-euc-jp": "euc_jp",
            "iso-2022-jp": "iso2022_jp", "iso-8859-1": "latin-1", "latin1": "latin-1"}


@dataclass(frozen=True)
class Outcome:
    """One record of a body: its line (1-based line of the body for line formats, array
    index + 1 for JSON arrays), the alert, or the reason it was refused and its text."""

    line: int
    alert: NormalizedAlert | None = None
    reason: str = ""
    text: str = ""  # the refused record as received (may hold NUL: escaped when kept)


def parse_generic(obj, context=None):
    """A documented generic JSON alert (a dict) as a NormalizedAlert."""
    severity = require_text(obj.get("severity"), "severity").lower()
    if severity not in SEVERITIES:
        raise AlertFormatError(f"severity {severity[:20]!r} is not one of {', '.join(SEVERITIES)}")
    return NormalizedAlert(
        source=require_text(obj.get("source"), "source"),
        sensor=require_text(obj.get("sensor"), "sensor"),
        severity=severity,
        rule_id=require_text(obj.get("rule_id"), "rule_id"),
        rule_name=require_text(obj.get("rule_name"), "rule_name"),
        hosts=unique(require_text(host, "hosts[]") for host in _list(obj, "hosts")),
        addresses=unique(address(value, "addresses[]") for value in _list(obj, "addresses")),
        occurred_at=iso_timestamp(obj.get("occurred_at"), "occurred_at"),
        raw="", time_source="occurred_at")


def parse_record(obj, context):
    """One JSON record (an indexer hit's `_source` unwrapped) by the adapter the sender named
    or, without one, by its shape: Wazuh, a vendor's, else the generic alert."""
    if isinstance(obj, dict) and isinstance(obj.get("_source"), dict):
        obj = obj["_source"]
    if not isinstance(obj, dict):
        raise AlertFormatError(f"an alert must be a JSON object, not {type(obj).__name__}")
    problem = json_problem(obj)
    if problem:  # PostgreSQL stores no NUL, UTF-8 no lone surrogate
        raise AlertFormatError(f"record refused: {problem}")
    parse = _parser_for(obj, context.source)
    return dataclasses.replace(parse(obj, context), raw=_dump(obj))


def _parser_for(obj, source):
    if source == "generic":
        return parse_generic
    if source == "wazuh" or (source is None and is_wazuh(obj)):
        return parse_wazuh
    if source is not None:
        return vendors.ADAPTERS[source].parse
    detected = vendors.detect(obj)
    return detected.parse if detected else parse_generic


def parse_payload(content_type, body, context):
    """A request body as Outcomes in input order; AlertFormatError when nothing in it can be
    read. context.source, when set, must be one of SOURCES (the caller checks)."""
    media_type, codec = _media_type_and_codec(content_type)
    if media_type in JSON_TYPES:
        return _json_body(body, codec, context)
    if media_type in NDJSON_TYPES or media_type in TEXT_TYPES:
        return _line_body(body, codec, context)
    raise AlertFormatError(f"unsupported content type {media_type[:60]!r}: use "
                           "application/json, application/x-ndjson or text/plain")


def parse_lines(lines, context):
    """Syslog messages (decoded text, one per item) as Outcomes, numbered from 1."""
    return [_line(number, text, context) for number, text in enumerate(lines, 1)]


def _media_type_and_codec(content_type):
    """The media type and the codec of its charset (UTF-8 when none is named)."""
    media_type, *params = (content_type or "").split(";")
    charset = "utf-8"
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset not in CHARSETS:
        raise AlertFormatError(f"unsupported charset {charset[:40]!r}: use UTF-8, Shift_JIS "
                               "(CP932) or EUC-JP")
    return media_type.strip().lower(), CHARSETS[charset]


def _json_body(body, codec, context):
    """One JSON document (an object, an array, a search response or a vendor list), or
    NDJSON sent as application/json (a second document after the first line)."""
    try:
        text = body.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as error:
        raise AlertFormatError(f"body is not {codec} text (byte {error.start})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if (error.msg == "Extra data" and error.lineno > 1) or _looks_like_ndjson(text):
            return _line_body(body, codec, context)
        raise AlertFormatError(
            f"body is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise AlertFormatError("body is nested too deeply") from None
    records = _records(document)
    if not records:
        raise AlertFormatError("the JSON document holds no alerts")
    return [_json_outcome(number, record, context) for number, record in
            enumerate(records, 1)]


def _looks_like_ndjson(text):
    """Several lines, each an object's text: NDJSON whose bad lines are refused one by one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.startswith("{") for line in lines)


def _records(document):
    """The alerts of a JSON document: an array, an indexer search response (hits.hits), a
    vendor's list (value, resources, items, data), else the document itself."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        hits = document.get("hits")
        if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
            return hits["hits"]
        for name in ("value", "resources", "items", "data"):
            if isinstance(document.get(name), list) and len(document) <= 4:
                return document[name]
    return [document]


def _json_outcome(number, record, context):
    try:
        return Outcome(number, parse_record(record, context))
    except AlertFormatError as error:
        return Outcome(number, reason=error.reason, text=_dump(record))
    except RecursionError:
        return Outcome(number, reason="record is nested too deeply")


def _line_body(body, codec, context):
    """One record per line (blank lines skipped, still counted): JSON objects (NDJSON) or
    CEF/syslog lines. Each line is decoded by itself, so one bad line refuses only itself."""
    outcomes = []
    for number, raw_line in enumerate(body.split(b"\n"), 1):
        raw_line = raw_line.removesuffix(b"\r")
        if number == 1 and codec == "utf-8":
            raw_line = raw_line.removeprefix(codecs.BOM_UTF8)
        if raw_line.strip():
            outcomes.append(_decoded_line(number, raw_line, codec, context))
    if not outcomes:
        raise AlertFormatError("the body holds no records")
    return outcomes


def _decoded_line(number, raw_line, codec, context):
    try:
        text = raw_line.decode(codec)
    except UnicodeDecodeError as error:
        return Outcome(number, reason=f"line is not {codec} text (byte {error.start})",
                       text=raw_line.decode(codec, errors="backslashreplace"))
    return _line(number, text, context)


def _line(number, text, context):
    """One line: a JSON object, or a syslog message whose body is CEF or JSON."""
    try:
        if "\x00" in text:
            raise AlertFormatError("line holds a NUL character")
        if unsafe(text):  # a receiver's line decoded with surrogateescape
            raise AlertFormatError("line holds a lone surrogate")
        return Outcome(number, _line_alert(text.strip(), context))
    except AlertFormatError as error:
        return Outcome(number, reason=error.reason, text=text)
    except RecursionError:
        return Outcome(number, reason="line is nested too deeply", text=text)


def _line_alert(text, context):
    if text.startswith("{"):
        return parse_record(_json_line(text), context)
    syslog = parse_syslog(text, context.received_at)
    if syslog.body.lstrip().startswith("{"):  # Wazuh's JSON output, forwarded by syslog
        sensor = context.default_sensor if syslog.host is None else syslog.host
        return parse_record(_json_line(syslog.body.strip()),
                            dataclasses.replace(context, default_sensor=sensor))
    return parse_cef_line(text, context.received_at, context.default_sensor, syslog)


def _json_line(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise AlertFormatError(f"line is not JSON: {error.msg} at column {error.colno}") \
            from None


def dedup_key(org_id, alert):
    """sha256 hex of organization, source, rule, hosts (addresses when there are no hosts)
    and what tells events of the rule apart (alert.identity: attack, file, key, URL)."""
    hosts = sorted({host.lower() for host in alert.hosts}) or sorted(alert.addresses)
    material = json.dumps([str(org_id), alert.source, alert.rule_id, hosts,
                           sorted(alert.identity)], ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _list(obj, name):
    """An optional list field (absent or null means empty)."""
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise AlertFormatError(f"{name} must be a list")
    return value


def _dump(obj):
    """The record as compact JSON, keys in the order sent."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
