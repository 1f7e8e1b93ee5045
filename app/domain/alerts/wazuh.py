"""Wazuh alerts as shipped: one object of alerts.json (also behind the indexer's `_source`,
unwrapped by the body parser), levels 0-16, srcip in every form Wazuh writes, and the
Windows, Office 365 and syscheck fields mapped (docs/alerts.md, "Wazuh alerts")."""

from app.domain.alerts.normalized import (
    AlertFormatError,
    NormalizedAlert,
    address_with_port,
    dig,
    require_text,
    text_or_none,
    unique,
)
from app.domain.alerts.severity import wazuh_level, wazuh_severity
from app.domain.alerts.times import parse_time
from app.domain.alerts.vendors.common import sensor

ADDRESS_FIELDS = ("agent.ip", "data.srcip", "data.dstip", "data.src_ip", "data.dst_ip",
                  "data.win.eventdata.ipAddress", "data.office365.ClientIP")
USER_FIELDS = ("data.srcuser", "data.dstuser", "data.win.eventdata.targetUserName",
               "data.win.eventdata.subjectUserName", "data.office365.UserId")
# What tells apart alerts of one rule: the file or registry key syscheck reports, the URL.
IDENTITY_FIELDS = ("syscheck.path", "syscheck.value_name", "data.url")
_NO_USER = {"-", "n/a"}


def is_wazuh(obj):
    """True for an object shaped as a Wazuh alert: a rule with a level and an agent or a
    manager."""
    return isinstance(obj.get("rule"), dict) and "level" in obj["rule"] and (
        "agent" in obj or "manager" in obj)


def parse_wazuh(obj, context):
    """A Wazuh alert (one object of alerts.json) as a NormalizedAlert."""
    rule = _section(obj, "rule")
    level = wazuh_level(rule.get("level"))
    occurred_at, time_source = _occurred_at(obj, context)
    groups = rule.get("groups") if isinstance(rule.get("groups"), list) else []
    return NormalizedAlert(
        source="wazuh",
        sensor=sensor(obj, ("manager.name", "agent.name"), context, "wazuh"),
        severity=wazuh_severity(level),
        rule_id=require_text(rule.get("id"), "rule.id"),
        rule_name=require_text(rule.get("description"), "rule.description"),
        hosts=unique([text_or_none(dig(obj, "agent.name"))]),
        addresses=unique(address_with_port(value) for value in _values(obj, ADDRESS_FIELDS)),
        occurred_at=occurred_at, raw="", time_source=time_source,
        users=unique(user for user in _values(obj, USER_FIELDS) if user not in _NO_USER),
        identity=unique(_values(obj, IDENTITY_FIELDS)),
        groups=unique(str(group) for group in groups if isinstance(group, str)),
        level=level)


def _section(obj, name):
    value = obj.get(name)
    if not isinstance(value, dict):
        raise AlertFormatError(f"{name} is missing or not an object")
    return value


def _values(obj, paths):
    """The text values present at the paths, in order."""
    return [value for value in (text_or_none(dig(obj, path)) for path in paths) if value]


def _occurred_at(obj, context):
    """timestamp (alerts.json), else @timestamp (the indexer), else the receive time."""
    for key in ("timestamp", "@timestamp"):
        value = obj.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise AlertFormatError(f"{key} is not a string")
            return parse_time(value, key, context.received_at), key
    return context.received_at, "received"
