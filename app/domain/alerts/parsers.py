"""Alert payloads (generic JSON, Wazuh JSON, CEF text) parsed into NormalizedAlerts.

Pure functions: no database, no request. The format is documented in docs/alerts.md.
"""

import hashlib
import json

from app.domain.alerts.cef import parse_cef_line
from app.domain.alerts.normalized import (
    SEVERITIES,
    AlertFormatError,
    NormalizedAlert,
    address,
    iso_timestamp,
    require_text,
    unique,
)
from app.domain.safetext import json_problem

__all__ = ["AlertFormatError", "NormalizedAlert", "dedup_key", "parse_cef_line",
           "parse_generic", "parse_payload", "parse_wazuh", "wazuh_severity"]


def parse_generic(obj):
    """A documented generic JSON alert (a dict) as a NormalizedAlert."""
    _require_object(obj)
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
        raw=_dump(obj),
    )


def parse_wazuh(obj):
    """A Wazuh alert (one object of alerts.json) as a NormalizedAlert."""
    _require_object(obj)
    rule, agent = _section(obj, "rule"), _section(obj, "agent")
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    ips = [agent.get("ip"), data.get("srcip"), data.get("dstip")]
    return NormalizedAlert(
        source="wazuh",
        sensor=require_text(_section(obj, "manager").get("name"), "manager.name"),
        severity=wazuh_severity(rule.get("level")),
        rule_id=require_text(rule.get("id"), "rule.id"),
        rule_name=require_text(rule.get("description"), "rule.description"),
        hosts=(require_text(agent.get("name"), "agent.name"),),
        addresses=unique(address(ip, "IP address") for ip in ips if ip),
        occurred_at=iso_timestamp(obj.get("timestamp"), "timestamp"),
        raw=_dump(obj),
    )


def wazuh_severity(level):
    """Wazuh rule.level 0-15: 12+ critical, 8+ high, 5+ medium, else low."""
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 15:
        raise AlertFormatError(f"rule.level {str(level)[:20]!r} is not an integer 0-15")
    return "critical" if level >= 12 else "high" if level >= 8 else "medium" \
        if level >= 5 else "low"


def parse_payload(content_type, body_bytes):
    """A request body as a list of NormalizedAlerts; AlertFormatError names the first bad one."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise AlertFormatError(f"body is not UTF-8 (byte {error.start})") from None
    if media_type == "application/json":
        return _parse_json_body(text)
    if media_type == "text/plain":
        return _parse_cef_body(text)
    raise AlertFormatError(
        f"unsupported content type {media_type[:60]!r}: use application/json or text/plain")


def dedup_key(org_id, alert):
    """sha256 hex of organization, source, rule and hosts (addresses when there are no hosts)."""
    hosts = sorted({host.lower() for host in alert.hosts}) or sorted(alert.addresses)
    material = json.dumps([str(org_id), alert.source, alert.rule_id, hosts], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def parse_json_alert(obj):
    """A JSON object as a Wazuh alert when it has rule and agent, else as a generic alert."""
    _require_object(obj)
    if "rule" in obj and "agent" in obj:
        return parse_wazuh(obj)
    return parse_generic(obj)


def _parse_json_body(text):
    """A JSON object (one alert) or array (many alerts)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise AlertFormatError(
            f"body is not JSON: {error.msg} at line {error.lineno} column {error.colno}",
            0) from None
    except RecursionError:
        raise AlertFormatError("body is nested too deeply", 0) from None
    problem = json_problem(document)
    if problem:  # PostgreSQL stores no NUL, UTF-8 no lone surrogate
        raise AlertFormatError(f"body refused: {problem}", 0)
    records = document if isinstance(document, list) else [document]
    if not records:
        raise AlertFormatError("the JSON array holds no alerts")
    return [_at(index, parse_json_alert, record) for index, record in enumerate(records)]


def _parse_cef_body(text):
    """CEF lines, one alert per line; index is the 0-based line number, blank lines skipped."""
    if "\x00" in text:
        raise AlertFormatError("body holds a NUL character", text[:text.index("\x00")]
                               .count("\n"))
    alerts = [_at(index, parse_cef_line, line)
              for index, line in enumerate(text.split("\n")) if line.strip()]
    if not alerts:
        raise AlertFormatError("the body holds no CEF lines")
    return alerts


def _at(index, parse, record):
    """parse(record), its AlertFormatError tagged with the record's index."""
    try:
        return parse(record)
    except AlertFormatError as error:
        raise AlertFormatError(error.reason, index) from None


def _require_object(obj):
    if not isinstance(obj, dict):
        raise AlertFormatError(f"an alert must be a JSON object, not {type(obj).__name__}")


def _section(obj, name):
    """A required nested object of a Wazuh alert."""
    value = obj.get(name)
    if not isinstance(value, dict):
        raise AlertFormatError(f"{name} is missing or not an object")
    return value


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
