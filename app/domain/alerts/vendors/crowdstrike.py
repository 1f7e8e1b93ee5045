"""CrowdStrike Falcon detections: the Detects API's detection summary (detection_id, or the
Alerts API's composite_id), with its device and behaviors (also inside `resources`)."""

from app.domain.alerts.normalized import (
    AlertFormatError,
    NormalizedAlert,
    dig,
    ip_or_none,
    text_or_none,
    unique,
)
from app.domain.alerts.vendors.common import first_time, listed, sensor, severity

SOURCE = "crowdstrike"
SEVERITIES = {"informational": "low", "low": "low", "medium": "medium", "high": "high",
              "critical": "critical"}
# max_severity 0-100 when there is no display name: Falcon's own bands.
SCORE_BANDS = ((90, "critical"), (70, "high"), (50, "medium"), (0, "low"))


def detect(obj):
    return "detection_id" in obj or ("composite_id" in obj and (
        "device" in obj or "behaviors" in obj))


def parse(obj, context):
    behaviors = [b for b in listed(obj.get("behaviors")) if isinstance(b, dict)]
    first = behaviors[0] if behaviors else {}
    detection = text_or_none(obj.get("detection_id")) or text_or_none(obj.get("composite_id"))
    if detection is None:
        raise AlertFormatError("detection_id (or composite_id) is missing")
    occurred_at, time_source = first_time(
        obj, ("created_timestamp", "first_behavior", "timestamp"), context)
    name = " / ".join(unique([text_or_none(first.get("tactic")),
                              text_or_none(first.get("technique"))])) or text_or_none(
        first.get("display_name")) or text_or_none(obj.get("description")) or "detection"
    return NormalizedAlert(
        source=SOURCE, sensor=sensor(obj, ("cid",), context, "crowdstrike"),
        severity=_severity(obj),
        rule_id=text_or_none(first.get("technique_id")) or text_or_none(
            first.get("scenario")) or name, rule_name=name,
        hosts=unique([text_or_none(dig(obj, "device.hostname"))]),
        addresses=unique(ip_or_none(dig(obj, path)) for path in (
            "device.local_ip", "device.external_ip") if dig(obj, path)),
        occurred_at=occurred_at, raw="", time_source=time_source,
        users=unique(text_or_none(b.get("user_name")) for b in behaviors),
        identity=unique([detection] + [text_or_none(b.get("filepath")) for b in behaviors]),
        groups=unique(text_or_none(b.get("tactic")) for b in behaviors))


def _severity(obj):
    """max_severity_displayname, else max_severity 0-100 through SCORE_BANDS."""
    if obj.get("max_severity_displayname") is not None:
        return severity(SEVERITIES, obj["max_severity_displayname"],
                        "max_severity_displayname")
    score = obj.get("max_severity")
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise AlertFormatError("neither max_severity_displayname nor a max_severity 0-100")
    return next(name for floor, name in SCORE_BANDS if score >= floor)
