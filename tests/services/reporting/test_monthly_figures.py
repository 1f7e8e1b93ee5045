"""The figures of a month: exact numbers from seeded data, JST month boundaries, who gets one."""

from datetime import date, datetime

import pytest

from app.errors import InvalidInput
from app.extensions import db
from app.models import Contract
from app.services.reporting import monthly as reports
from app.testkit import factories
from tests.scenes import reports as scene
from tests.scenes.reports import NOW


def zeros(codes, key):
    return [{key: code, "count": 0} for code in codes]


def test_october_figures_count_exactly_what_happened_in_the_japanese_month(ctx, world):
    scene.october(world)
    figures = reports.monthly_figures(scene.organization(world), "2026-10", now=NOW)
    org = scene.organization(world)
    assert figures["month"] == "2026-10"
    assert figures["period"] == {"first_day": "2026-10-01", "last_day": "2026-10-31",
                                 "time_zone": "Asia/Tokyo"}
    assert figures["organization"] == {"id": org.id, "code": org.code, "name": "甲商事"}
    assert figures["alerts"] == {
        "alerts": 5, "occurrences": 12,
        "by_severity": [{"severity": "critical", "alerts": 1, "occurrences": 3},
                        {"severity": "high", "alerts": 1, "occurrences": 1},
                        {"severity": "medium", "alerts": 1, "occurrences": 5},
                        {"severity": "low", "alerts": 2, "occurrences": 3}],
        "by_source": [{"source": "generic", "alerts": 2, "occurrences": 6},
                      {"source": "wazuh", "alerts": 2, "occurrences": 4},
                      {"source": "cef", "alerts": 1, "occurrences": 2}]}
    incidents = figures["incidents"]
    assert incidents["received"] == 3
    assert {r["category"]: r["count"] for r in incidents["by_category"] if r["count"]} == {
        "ransomware": 1, "phishing_bec": 1, "malware": 1}
    assert len(incidents["by_category"]) == 12  # every category, zeros included
    assert incidents["by_severity"] == [
        {"severity": "critical", "count": 1}, {"severity": "high", "count": 0},
        {"severity": "medium", "count": 1}, {"severity": "low", "count": 1}]
    assert incidents["by_channel"] == [
        {"channel": "phone", "count": 1}, {"channel": "web", "count": 1},
        {"channel": "email", "count": 1}, {"channel": "monitoring", "count": 0}]
    assert figures["sla"]["clocks"] == [
        # 10 min met, 50 min missed, one never answered and past due at NOW
        {"clock": "first_response", "count": 3, "met": 1, "missed": 1, "breached": 1,
         "running": 0, "withdrawn": 0, "median_minutes": 30, "longest_minutes": 50},
        {"clock": "acknowledgement", "count": 1, "met": 1, "missed": 0, "breached": 0,
         "running": 0, "withdrawn": 0, "median_minutes": 5, "longest_minutes": 5},
        {"clock": "arrival", "count": 1, "met": 1, "missed": 0, "breached": 0,
         "running": 0, "withdrawn": 0, "median_minutes": 90, "longest_minutes": 90},
        {"clock": "claim_submission", "count": 1, "met": 1, "missed": 0, "breached": 0,
         "running": 0, "withdrawn": 0, "median_minutes": 160, "longest_minutes": 160}]
    # The declined offer is no visit; the wait counts from the request, not the 2nd offer.
    assert figures["dispatches"] == {"visits": 1, "arrived": 1,
                                     "median_request_to_arrival_minutes": 90,
                                     "longest_request_to_arrival_minutes": 90}
    # 16,000 + 55,555 at 10% (tax 7,155) and 3,333 at 8% (tax 266); the draft, the rejected
    # line and the November line do not count.
    assert figures["costs"] == {
        "lines": 3, "draft_lines": 1, "subtotal": 74_888, "tax": 7_421, "total": 82_309,
        "taxes": [{"rate": 8, "base": 3_333, "tax": 266},
                  {"rate": 10, "base": 71_555, "tax": 7_155}],
        "by_head": [
            {"head": "investigation", "name_ja": "調査費用", "name_en": "Investigation",
             "lines": 1, "amount": 55_555},
            {"head": "dispatch", "name_ja": "駆付け費用", "name_en": "On-site dispatch",
             "lines": 1, "amount": 16_000},
            {"head": "consultation", "name_ja": "相談費用", "name_en": "Consultation",
             "lines": 1, "amount": 3_333}]}
    assert figures["claims"] == {"submitted": 1, "claimed_amount": 82_309, "approved": 1,
                                 "approved_amount": 70_000, "paid": 1, "paid_amount": 70_000}


def test_november_holds_what_october_left_out(ctx, world):
    scene.october(world)
    figures = reports.monthly_figures(scene.organization(world), "2026-11", now=NOW)
    assert figures["alerts"]["alerts"] == 1 and figures["alerts"]["occurrences"] == 4
    assert figures["incidents"]["received"] == 1
    assert [r["category"] for r in figures["incidents"]["by_category"] if r["count"]] == ["dos"]
    assert figures["costs"]["lines"] == 1 and figures["costs"]["subtotal"] == 5_000
    assert figures["claims"] == {"submitted": 0, "claimed_amount": 0, "approved": 0,
                                 "approved_amount": 0, "paid": 0, "paid_amount": 0}
    assert figures["dispatches"]["visits"] == 0
    assert figures["dispatches"]["median_request_to_arrival_minutes"] is None


def test_month_boundaries_are_japan_midnight_not_utc_midnight(ctx, world):
    scene.add_alert(world.org_a, "low", "generic", 1, scene.OCT_31_2330_JST)  # 14:30 UTC
    scene.add_alert(world.org_a, "high", "generic", 1, scene.NOV_1_0010_JST)  # 15:10 UTC
    scene.report(world.org_a, "other", "low", "phone", scene.NOV_1_0010_JST)
    org = scene.organization(world)
    october = reports.monthly_figures(org, "2026-10", now=NOW)
    november = reports.monthly_figures(org, "2026-11", now=NOW)
    assert [(r["severity"], r["alerts"]) for r in october["alerts"]["by_severity"]
            if r["alerts"]] == [("low", 1)]
    assert [(r["severity"], r["alerts"]) for r in november["alerts"]["by_severity"]
            if r["alerts"]] == [("high", 1)]
    assert (october["incidents"]["received"], november["incidents"]["received"]) == (0, 1)


def test_a_month_with_nothing_gives_zeros_not_errors(ctx, world):
    figures = reports.monthly_figures(scene.organization(world), "2026-10", now=NOW)
    assert figures["alerts"]["alerts"] == 0 and figures["alerts"]["by_source"] == []
    assert figures["incidents"]["by_severity"] == zeros(
        ("critical", "high", "medium", "low"), "severity")
    assert figures["sla"] == {"clocks": []}
    assert figures["costs"]["total"] == 0 and figures["costs"]["taxes"] == []


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-10", "2026/10", "", "2026-10-01",
                                  "1999-12", " 2026-00", None])
def test_a_bad_month_is_refused_naming_the_field(ctx, text):
    with pytest.raises(InvalidInput) as refused:
        reports.parse_month(text)
    assert refused.value.details["field"] == "month"


def test_a_month_is_bounded_by_japan_midnights_in_stored_utc(ctx):
    month = reports.parse_month("2026-12")
    assert (month.first_day, month.last_day) == (date(2026, 12, 1), date(2026, 12, 31))
    assert month.start == datetime(2026, 11, 30, 15, 0)
    assert month.end == datetime(2026, 12, 31, 15, 0)
    assert reports.parse_month("2028-02").last_day == date(2028, 2, 29)


def test_organizations_with_a_contract_on_any_day_of_the_month_get_a_report(ctx, world):
    ended = factories.make_organization(contract=False, policy=False)
    starts = factories.make_organization(contract=False, policy=False)
    for org, starts_on, ends_on in ((ended, date(2025, 4, 1), date(2026, 10, 1)),
                                    (starts, date(2026, 10, 31), None)):
        db.session.add(Contract(organization_id=org.id, plan="network", monthly_fee=9000,
                                starts_on=starts_on, ends_on=ends_on))
    db.session.commit()
    october = {o.id for o in reports.organizations_for(reports.parse_month("2026-10"))}
    november = {o.id for o in reports.organizations_for(reports.parse_month("2026-11"))}
    september = {o.id for o in reports.organizations_for(reports.parse_month("2026-09"))}
    assert october == {world.org_a, ended.id, starts.id}  # org B has no contract
    assert november == {world.org_a, starts.id}
    assert september == {world.org_a, ended.id}
