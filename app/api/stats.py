"""Provider statistics over the API: the dashboard figures and the liaison export (staff)."""

from typing import Literal

from flask import Response, g
from flask_openapi3 import Tag
from pydantic import BaseModel, ConfigDict, Field

from app import access
from app.api import bp
from app.domain.timeutil import utcnow
from app.services.reporting import dashboard, liaison
from app.services.reporting.dashboard import ALL

TAG = Tag(name="statistics", description="Provider dashboard and liaison-meeting statistics")
DATE = Field(None, max_length=32, description="YYYY-MM-DD, a JST date (both ends included)")


class PeriodQuery(BaseModel):
    """from/to: JST dates; default the last 30 days to today; at most 3 years."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str | None = Field(None, alias="from", max_length=32,
                              description="YYYY-MM-DD, JST (default: 29 days before `to`)")
    to: str | None = Field(None, max_length=32, description="YYYY-MM-DD, JST (default: today)")


class LiaisonQuery(PeriodQuery):
    format: Literal["json", "csv"] = "json"
    lang: Literal["ja", "en"] | None = Field(None, description="Language of the labels")


class Duration(BaseModel):
    count: int
    mean_seconds: int | None
    median_seconds: int | None


class Breaches(BaseModel):
    clock: str
    started: int
    breached: int
    breach_rate: float | None


class Cost(BaseModel):
    incidents: int
    total_yen: int
    per_incident_yen: int | None


class ClaimCycle(BaseModel):
    count: int
    mean_days: float | None
    median_days: float | None


class AlertVolume(BaseModel):
    severity: str
    alerts: int
    occurrences: int
    incidents: int


class DashboardOut(BaseModel):
    period: dict
    incidents: dict
    by_category: list[dict]
    by_prefecture: list[dict]
    mtta: Duration
    time_to_site: Duration
    sla: list[Breaches]
    cost: Cost
    claim_cycle: ClaimCycle
    alerts: list[AlertVolume]


class LiaisonOut(BaseModel):
    # format=csv answers text/csv: documented next to the JSON (found by Schemathesis).
    model_config = ConfigDict(openapi_extra={"content": {"text/csv": {"schema": {
        "type": "string", "description": "UTF-8 with BOM, one row per figure"}}}})

    period: dict
    rules: dict
    counts: list[dict]
    cases: list[dict]
    cases_withheld: int


def _period(query):
    """The staff check first, then the period (InvalidInput -> 422 with details.field)."""
    access.require(g.api_user, "stats.read")
    return dashboard.parse_period(query.from_, query.to, utcnow())


@bp.get("/stats/dashboard", tags=[TAG], responses={200: DashboardOut})
def dashboard_stats(query: PeriodQuery):
    """The dashboard's figures; every count is the length of its drill-down list."""
    board = dashboard.compute(_period(query), utcnow())
    return as_dict(board)


@bp.get("/stats/liaison", tags=[TAG], responses={200: LiaisonOut})
def liaison_stats(query: LiaisonQuery):
    """Anonymized statistics for the IPA liaison meeting, as JSON or CSV (UTF-8 with BOM)."""
    period = _period(query)
    report = liaison.build(period)
    if query.format == "json":
        return report
    name = liaison.export_name(period, "csv")
    return Response(liaison.export(report, "csv"), content_type=liaison.EXPORT_TYPES["csv"],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------- the dashboard as JSON


def _whole(value):
    return None if value is None else round(value)


def _duration(figure):
    return {"count": figure.count, "mean_seconds": _whole(figure.mean),
            "median_seconds": _whole(figure.median)}


def _breaches(board, clock):
    rate = board.breach_rate(clock)
    return {"clock": clock, "started": board.get("sla_started", clock).count,
            "breached": board.get("sla_breached", clock).count,
            "breach_rate": None if rate is None else round(rate, 4)}


def _money(figure):
    return {"incidents": figure.count, "total_yen": int(figure.total or 0),
            "per_incident_yen": figure.per_incident}


def _days(figure):
    mean, median = (None if v is None else round(v, 1) for v in (figure.mean, figure.median))
    return {"count": figure.count, "mean_days": mean, "median_days": median}


def _alerts(board, severity):
    alerts, occurrences = board.alerts.get(severity, (0, 0))
    return {"severity": severity, "alerts": alerts, "occurrences": occurrences,
            "incidents": board.get("alert_incidents", severity).count}


def as_dict(board):
    """The figures as docs/statistics.md describes them."""
    prefectures = sorted(int(key) for metric, key in board.figures
                         if metric == "prefecture" and key != ALL)
    return {
        "period": board.period.as_dict(),
        "incidents": {"count": board.get("received").count},
        "by_category": [{"category": c, "count": board.get("category", c).count}
                        for c in dashboard.CATEGORIES],
        "by_prefecture": [{"prefecture": p, "count": board.get("prefecture", str(p)).count}
                          for p in prefectures],
        "mtta": _duration(board.get("mtta")),
        "time_to_site": _duration(board.get("time_to_site")),
        "sla": [_breaches(board, clock) for clock in (*dashboard.CLOCK_NAMES, ALL)],
        "cost": _money(board.get("cost")),
        "claim_cycle": _days(board.get("claim_cycle")),
        "alerts": [_alerts(board, s) for s in (*dashboard.SEVERITIES, ALL)],
    }
