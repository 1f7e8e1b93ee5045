"""The Japanese business calendar: weekends, national holidays and the year-end break."""

from datetime import date, datetime, time

import pytest

from app.domain.bizcal import (
    add_business_minutes,
    business_minutes_between,
    is_business_day,
    minutes_per_day,
    parse_hours,
)
from app.domain.timeutil import JST, to_utc_naive

HOURS = (time(9), time(18))


def utc(*jst_parts):
    """A Japan-time wall clock reading as the naive UTC the database stores."""
    return to_utc_naive(datetime(*jst_parts, tzinfo=JST))


@pytest.mark.parametrize(("day", "expected"), [
    (date(2026, 11, 20), True),   # Friday
    (date(2026, 11, 21), False),  # Saturday
    (date(2026, 11, 22), False),  # Sunday
    (date(2026, 11, 23), False),  # 勤労感謝の日 (Monday)
    (date(2026, 11, 24), True),
    (date(2026, 5, 6), False),    # 振替休日 for 憲法記念日 on a Sunday
    (date(2027, 3, 22), False),   # 振替休日 for 春分の日 on a Sunday
    (date(2026, 9, 22), False),   # 国民の休日 between two holidays
    (date(2026, 12, 28), True),   # the last working day of the year
    (date(2026, 12, 29), False),  # the year-end break starts (a Tuesday)
    (date(2026, 12, 31), False),
    (date(2027, 1, 4), False),    # still the break (a Monday)
    (date(2027, 1, 5), True),
], ids=str)
def test_business_days_exclude_weekends_holidays_and_the_year_end_break(day, expected):
    assert is_business_day(day) is expected


def test_a_clock_started_friday_evening_runs_on_into_monday_morning():
    friday = utc(2026, 11, 13, 17, 30)
    assert add_business_minutes(friday, 30, HOURS) == utc(2026, 11, 13, 18, 0)
    assert add_business_minutes(friday, 60, HOURS) == utc(2026, 11, 16, 9, 30)


def test_a_national_holiday_monday_is_skipped():
    friday = utc(2026, 11, 20, 17, 30)
    assert add_business_minutes(friday, 60, HOURS) == utc(2026, 11, 24, 9, 30)


def test_a_substitute_holiday_is_skipped():
    friday = utc(2027, 3, 19, 17, 30)  # 3/21 春分の日 is a Sunday, so Monday 3/22 is off
    assert add_business_minutes(friday, 60, HOURS) == utc(2027, 3, 23, 9, 30)


def test_golden_week_with_its_substitute_holiday_is_skipped():
    friday = utc(2026, 5, 1, 17, 30)  # Sat, Sun 5/3, Mon 5/4, Tue 5/5, Wed 5/6 (振替休日)
    assert add_business_minutes(friday, 60, HOURS) == utc(2026, 5, 7, 9, 30)


def test_the_year_end_break_is_skipped():
    monday = utc(2026, 12, 28, 17, 0)
    assert add_business_minutes(monday, 60, HOURS) == utc(2026, 12, 28, 18, 0)
    assert add_business_minutes(monday, 120, HOURS) == utc(2027, 1, 5, 10, 0)


def test_a_start_outside_business_hours_counts_from_the_next_opening():
    assert add_business_minutes(utc(2026, 11, 25, 7, 0), 30, HOURS) == \
        utc(2026, 11, 25, 9, 30)
    assert add_business_minutes(utc(2026, 11, 25, 18, 0), 30, HOURS) == \
        utc(2026, 11, 26, 9, 30)
    assert add_business_minutes(utc(2026, 11, 21, 12, 0), 30, HOURS) == \
        utc(2026, 11, 24, 9, 30)  # Saturday, then the holiday Monday


def test_whole_business_days_end_at_the_same_time_of_day():
    start = utc(2026, 11, 25, 15, 0)  # Wednesday
    ten_days = 10 * minutes_per_day(HOURS)
    assert add_business_minutes(start, ten_days, HOURS) == utc(2026, 12, 9, 15, 0)


def test_business_minutes_between_counts_only_business_hours():
    assert business_minutes_between(utc(2026, 11, 20, 17, 30), utc(2026, 11, 24, 9, 30),
                                    HOURS) == 60
    assert business_minutes_between(utc(2026, 12, 28, 17, 0), utc(2027, 1, 5, 10, 0),
                                    HOURS) == 120
    assert business_minutes_between(utc(2026, 11, 25, 12, 0), utc(2026, 11, 25, 11, 0),
                                    HOURS) == 0


def test_adding_then_measuring_gives_back_the_minutes():
    start = utc(2026, 12, 25, 16, 10)
    for minutes in (1, 50, 540, 541, 2000):
        due = add_business_minutes(start, minutes, HOURS)
        assert business_minutes_between(start, due, HOURS) == minutes


def test_other_business_hours_are_honoured():
    hours = parse_hours("10:00-12:30")
    assert minutes_per_day(hours) == 150
    assert add_business_minutes(utc(2026, 11, 25, 12, 0), 60, hours) == \
        utc(2026, 11, 26, 10, 30)


@pytest.mark.parametrize("text", ["18:00-09:00", "09:00-09:00", "9-18", "nine to six", ""])
def test_business_hours_that_make_no_sense_are_refused(text):
    with pytest.raises(ValueError):
        parse_hours(text)
