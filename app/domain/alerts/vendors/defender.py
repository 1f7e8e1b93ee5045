"""Microsoft Defender for Endpoint alerts: the API's alert resource (GET /api/alerts, also
inside its `value` list), with its evidence."""

from app.domain.alerts.normalized import (
    NormalizedAlert,
    ip_or_none,
    require_text,
    text_or_none,
    unique,
)
from app.domain.alerts.vendors.common import first_time, listed, sensor, severity

SOURCE = "defender"
SEVERITIES = {"unspecified": "low", "informational": "low", "low": "low",
              "medium": "medium", "high": "high"}


def detect(obj):
    return "detectionSource" in obj and any(
        key in obj for key in ("computerDnsName", "alertCreationTime", "machineId"))


def parse(obj, context):
    evidence = [item for item in listed(obj.get("evidence")) if isinstance(item, dict)]
    occurred_at, time_source = first_time(
        obj, ("firstEventTime", "alertCreationTime", "lastUpdateTime"), context)
    title = require_text(obj.get("title"), "title")
    related = obj.get("relatedUser") if isinstance(obj.get("relatedUser"), dict) else {}
    return NormalizedAlert(
        source=SOURCE, sensor=sensor(obj, ("aadTenantId",), context, "defender"),
        severity=severity(SEVERITIES, obj.get("severity"), "severity"),
        rule_id=text_or_none(obj.get("detectorId")) or title, rule_name=title,
        hosts=unique([text_or_none(obj.get("computerDnsName"))]),
        addresses=unique(ip_or_none(item.get("ipAddress")) for item in evidence
                         if item.get("ipAddress")),
        occurred_at=occurred_at, raw="", time_source=time_source,
        users=unique(text_or_none(name) for name in [related.get("userName")] + [
            item.get("accountName") for item in evidence]),
        identity=unique([require_text(obj.get("id"), "id")]),
        groups=unique(text_or_none(obj.get(key)) for key in ("category", "detectionSource")))
