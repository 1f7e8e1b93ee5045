"""The dashboard's figures: exact values from a known month, each equal to its drill-down list."""

from datetime import date, datetime, timedelta

import pytest

from app.errors import InvalidInput
from app.extensions import db
from app.models import Organization
from app.services.reporting import dashboard
from app.services.reporting.dashboard import ALL, METRICS, Period
from tests.scenes.claims import claim_files  # noqa: F401  (fixture)
from tests.scenes.stats import NOW, PERIOD, receive, seed


@pytest.fixture
def month(ctx, world, claim_files):  # noqa: F811
    return seed(world)


def ids(metric, key=ALL, period=PERIOD, now=NOW):
    return set(db.session.scalars(dashboard.incident_ids(metric, key, period, now)))


def test_incidents_are_counted_by_category_and_prefecture_within_the_jst_period(month):
    board = dashboard.compute(PERIOD, NOW)
    assert ids("received") == {month.a, month.b, month.c, month.d, month.edge_in}
    assert board.get("received").count == 5
    assert {c: board.get("category", c).count for c in ("ransomware", "malware", "phishing_bec",
                                                         "other", "dos")} == {
        "ransomware": 1, "malware": 2, "phishing_bec": 1, "other": 1, "dos": 0}
    assert ids("category", "malware") == {month.b, month.d}
    assert {k: board.get("prefecture", k).count for k in ("13", "27", "1")} == {
        "13": 2, "27": 2, "1": 1}
    assert ids("prefecture", "27") == {month.c, month.edge_in}


def test_mtta_is_the_mean_and_median_time_to_leave_received(month):
    mtta = dashboard.compute(PERIOD, NOW).get("mtta")
    # a 10 min, b 40 min, c 20 min, edge_in cancelled after 1 min; d has not been answered.
    assert (mtta.count, mtta.mean, mtta.median) == (4, (600 + 2400 + 1200 + 60) / 4, 900)
    assert ids("mtta") == {month.a, month.b, month.c, month.edge_in}


def test_time_to_site_runs_from_the_dispatch_request_to_the_arrival(month):
    site = dashboard.compute(PERIOD, NOW).get("time_to_site")
    assert (site.count, site.mean, site.median) == (1, 3000, 3000)
    assert ids("time_to_site") == {month.a}


def test_breach_rate_counts_missed_and_running_past_due_clocks_of_the_period(month):
    board = dashboard.compute(PERIOD, NOW)
    started = {name: board.get("sla_started", name).count for name in (
        "first_response", "acknowledgement", "arrival", "claim_submission", "leak_final", ALL)}
    assert started == {"first_response": 5, "acknowledgement": 1, "arrival": 1,
                       "claim_submission": 1, "leak_final": 0, ALL: 5}
    assert ids("sla_breached", "first_response") == {month.b, month.d}  # missed; running late
    assert board.breach_rate("first_response") == pytest.approx(0.4)
    assert board.breach_rate("arrival") == 0
    assert board.breach_rate(ALL) == pytest.approx(0.4)
    assert board.breach_rate("leak_final") is None


def test_a_running_clock_is_breached_only_once_its_due_instant_has_passed(month):
    early = datetime(2026, 11, 10, 4, 20)  # d received 04:00 UTC, due 04:30
    assert ids("sla_breached", "first_response", now=early) == {month.b}
    assert ids("sla_breached", "first_response", now=early + timedelta(minutes=10)) == {
        month.b, month.d}


def test_cost_per_incident_counts_approved_lines_only_excluding_tax(month):
    cost = dashboard.compute(PERIOD, NOW).get("cost")
    # a: 30,000 + 20,000; c: 15,000 approved (the draft 9,999 and rejected 7,777 are not).
    assert (cost.count, cost.total, cost.per_incident) == (2, 65_000, 32_500)
    assert ids("cost") == {month.a, month.c}


def test_claim_cycle_is_the_days_from_the_first_submission_to_the_payment_date(month):
    cycle = dashboard.compute(PERIOD, NOW).get("claim_cycle")
    assert (cycle.count, cycle.mean, cycle.median) == (1, 10, 10)  # 11-10 17:00 JST -> 11-20
    assert ids("claim_cycle") == {month.a}
    assert ids("claim_cycle", period=Period(date(2026, 11, 21), date(2026, 11, 30))) == set()


def test_alert_volume_counts_alerts_and_occurrences_and_links_their_incidents(month):
    board = dashboard.compute(PERIOD, NOW)
    assert board.alerts == {"critical": (2, 4), "low": (1, 1), ALL: (3, 5)}
    assert board.get("alert_incidents", "critical").count == 2
    assert ids("alert_incidents") == {month.a, month.d}
    assert ids("alert_incidents", "high") == set()  # the high alert was before the period


def test_every_number_equals_the_length_of_its_drill_down_list(month):
    board = dashboard.compute(PERIOD, NOW)
    checked = set()
    for (metric, key), figure in board.figures.items():
        listed = ids(metric, key)
        assert figure.count == len(listed), (metric, key)
        page = dashboard.drill_down(metric, key, PERIOD, NOW, limit=100)
        assert {i.id for i in page.items} == listed, (metric, key)
        checked.add(metric)
    assert checked == set(METRICS)  # every metric has figures in the month and was checked


def test_an_absent_key_counts_zero_and_lists_nothing(month):
    board = dashboard.compute(PERIOD, NOW)
    for metric in METRICS.values():
        for key in metric.keys:
            if (metric.name, key) not in board.figures:
                assert board.get(metric.name, key).count == 0
                assert ids(metric.name, key) == set()


def test_the_drill_down_is_newest_first_a_page_at_a_time(month):
    first = dashboard.drill_down("received", ALL, PERIOD, NOW, limit=2)
    assert [i.id for i in first.items] == [month.edge_in, month.d]
    second = dashboard.drill_down("received", ALL, PERIOD, NOW, cursor=first.next_cursor,
                                  limit=2)
    third = dashboard.drill_down("received", ALL, PERIOD, NOW, cursor=second.next_cursor,
                                 limit=2)
    assert [i.id for i in second.items] == [month.c, month.b]
    assert ([i.id for i in third.items], third.next_cursor) == ([month.a], None)


@pytest.mark.parametrize("metric, key, field", [
    ("nonsense", ALL, "metric"), ("category", "not-a-category", "key"),
    ("prefecture", "48", "key"), ("received", "13", "key")])
def test_an_unknown_metric_or_key_is_refused(ctx, metric, key, field):
    with pytest.raises(InvalidInput) as refused:
        dashboard.drill_down(metric, key, PERIOD, NOW)
    assert refused.value.details["field"] == field


# ---------------------------------------------------------------- the period


def test_the_period_runs_from_midnight_to_midnight_japan_time(ctx, world):
    org = db.session.get(Organization, world.org_a)
    at = {"last_minute_before": datetime(2026, 10, 31, 14, 59, 59),  # 23:59:59 JST 10-31
          "first_instant": datetime(2026, 10, 31, 15, 0),  # 00:00 JST 11-01
          "last_instant": datetime(2026, 11, 30, 14, 59, 59),  # 23:59:59 JST 11-30
          "first_after": datetime(2026, 11, 30, 15, 0)}  # 00:00 JST 12-01
    made = {name: receive(org, when).id for name, when in at.items()}
    assert ids("received") == {made["first_instant"], made["last_instant"]}


def test_the_default_period_is_the_last_30_days_to_today_in_japan(ctx):
    now = datetime(2026, 11, 30, 15, 30)  # already 12-01 in Japan
    assert dashboard.make_period(None, None, now) == Period(date(2026, 11, 2), date(2026, 12, 1))
    assert dashboard.parse_period("", "2026-06-30", now) == Period(date(2026, 6, 1),
                                                                     date(2026, 6, 30))
    assert dashboard.parse_period("2026-06-01", None, now).last == date(2026, 12, 1)


@pytest.mark.parametrize("first, last, field, reason", [
    ("2026-11-02", "2026-11-01", "to", "end_before_start"),
    ("garbage", "2026-11-01", "from", "not_a_date"),
    ("2026-11-01", "2026-13-01", "to", "not_a_date"),
    ("2026-11-01", "20261130", "to", "not_a_date"),
    ("2023-11-01", "2026-11-01", "to", "too_long"),
])
def test_a_bad_period_is_refused_with_the_field_and_the_reason(ctx, first, last, field,
                                                              reason):
    with pytest.raises(InvalidInput) as refused:
        dashboard.parse_period(first, last, NOW)
    assert (refused.value.details["field"], refused.value.details["reason"]) == (field, reason)


def test_three_years_less_a_day_is_the_longest_period(ctx):
    period = dashboard.parse_period("2023-11-01", "2026-10-31", NOW)
    assert (period.last - period.first).days == 1095

