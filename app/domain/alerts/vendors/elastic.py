"""Elastic Security detection alerts: ECS documents with kibana.alert.* fields, dotted or
nested (as the alerts index stores them, also inside a search response's hits)."""

from app.domain.alerts.normalized import (
    AlertFormatError,
    NormalizedAlert,
    dig,
    ip_or_none,
    require_text,
    text_or_none,
    unique,
)
from app.domain.alerts.vendors.common import first_time, listed, sensor, severity

SOURCE = "elastic"
SEVERITIES = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}
# kibana.alert.risk_score 0-100 when there is no severity: Elastic's own bands.
RISK_BANDS = ((74, "critical"), (48, "high"), (22, "medium"), (0, "low"))


def detect(obj):
    return dig(obj, "kibana.alert.rule.name") is not None


def parse(obj, context):
    name = require_text(dig(obj, "kibana.alert.rule.name"), "kibana.alert.rule.name")
    occurred_at, time_source = first_time(
        obj, ("kibana.alert.original_time", "@timestamp"), context)
    addresses = [*listed(dig(obj, "source.ip")), *listed(dig(obj, "destination.ip")),
                 *listed(dig(obj, "host.ip"))]
    return NormalizedAlert(
        source=SOURCE, sensor=sensor(obj, ("observer.name", "agent.name"), context, "elastic"),
        severity=_severity(obj),
        rule_id=text_or_none(dig(obj, "kibana.alert.rule.rule_id")) or text_or_none(
            dig(obj, "kibana.alert.rule.uuid")) or name,
        rule_name=name, hosts=unique([text_or_none(dig(obj, "host.name"))]),
        addresses=unique(ip_or_none(value) for value in addresses if value),
        occurred_at=occurred_at, raw="", time_source=time_source,
        users=unique([text_or_none(dig(obj, "user.name"))]),
        identity=unique(text_or_none(dig(obj, path)) for path in (
            "kibana.alert.uuid", "file.path", "registry.path", "url.full")),
        groups=unique(text_or_none(tag) for tag in listed(dig(obj, "kibana.alert.rule.tags"))))


def _severity(obj):
    """kibana.alert.severity, else kibana.alert.risk_score through RISK_BANDS."""
    value = dig(obj, "kibana.alert.severity")
    if value is not None:
        return severity(SEVERITIES, value, "kibana.alert.severity")
    score = dig(obj, "kibana.alert.risk_score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 100:
        raise AlertFormatError("neither kibana.alert.severity nor a kibana.alert.risk_score "
                               "0-100")
    return next(name for floor, name in RISK_BANDS if score >= floor)
