"""Trend Micro Vision One workbench alerts (v3 `id`, v2 `workbenchId`), with the hosts and
accounts of their impact scope (also inside the list API's `items`)."""

from app.domain.alerts.normalized import (
    AlertFormatError,
    NormalizedAlert,
    ip_or_none,
    text_or_none,
    unique,
)
from app.domain.alerts.vendors.common import first_time, listed, sensor, severity

SOURCE = "visionone"
SEVERITIES = {"informational": "low", "info": "low", "low": "low", "medium": "medium",
              "high": "high", "critical": "critical"}


def detect(obj):
    return "workbenchId" in obj or ("model" in obj and (
        "impactScope" in obj or "workbenchLink" in obj))


def parse(obj, context):
    alert_id = text_or_none(obj.get("id")) or text_or_none(obj.get("workbenchId"))
    model = text_or_none(obj.get("model")) or text_or_none(obj.get("workbenchName"))
    if alert_id is None or model is None:
        raise AlertFormatError("id (or workbenchId) and model are required")
    hosts, addresses, users = _impact_scope(obj.get("impactScope"))
    occurred_at, time_source = first_time(
        obj, ("createdDateTime", "createdTime", "updatedDateTime"), context)
    return NormalizedAlert(
        source=SOURCE, sensor=sensor(obj, ("alertProvider",), context, "visionone"),
        severity=severity(SEVERITIES, obj.get("severity"), "severity"),
        rule_id=text_or_none(obj.get("modelId")) or model, rule_name=model,
        hosts=hosts, addresses=addresses, occurred_at=occurred_at, raw="",
        time_source=time_source, users=users, identity=(alert_id,))


def _impact_scope(scope):
    """(hosts, addresses, accounts) of impactScope: v3 `entities`, v2 `hosts`/`accounts`."""
    scope = scope if isinstance(scope, dict) else {}
    hosts, addresses, users = [], [], []
    for entity in listed(scope.get("entities")):
        if not isinstance(entity, dict):
            continue
        value = entity.get("entityValue")
        if entity.get("entityType") == "host" and isinstance(value, dict):
            hosts.append(text_or_none(value.get("name")))
            addresses.extend(ip_or_none(ip) for ip in listed(value.get("ips")))
        elif entity.get("entityType") == "account":
            users.append(text_or_none(value) if not isinstance(value, dict)
                         else text_or_none(value.get("name")))
    for host in listed(scope.get("hosts")):
        if isinstance(host, dict):
            hosts.append(text_or_none(host.get("hostName") or host.get("name")))
            addresses.extend(ip_or_none(ip) for ip in listed(host.get("ips")))
    users.extend(text_or_none(a) for a in listed(scope.get("accounts")) if isinstance(a, str))
    return unique(hosts), unique(addresses), unique(users)
