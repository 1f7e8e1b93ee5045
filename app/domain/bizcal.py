"""The Japanese business calendar behind business-hours SLA targets (DESIGN.md §1).

A business day is a weekday that is not a national holiday (`jpholiday`, substitute and
citizens' holidays included) and not in the year-end break 12/29–1/4. Business hours are
BUSINESS_HOURS (JST, "09:00-18:00" by default). Times come and go as naive UTC, as stored.
"""

from datetime import UTC, date, datetime, time, timedelta

import jpholiday

from app.domain.timeutil import JST, to_utc_naive

YEAR_END_BREAK = ((12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3), (1, 4))
MAX_DAYS = 3660  # a target of more than ten years of business days is a mistake


def is_business_day(day: date) -> bool:
    """True on a weekday that is neither a national holiday nor in the year-end break."""
    return (day.weekday() < 5 and (day.month, day.day) not in YEAR_END_BREAK
            and not jpholiday.is_holiday(day))


def parse_hours(text):
    """("09:00-18:00") → (time(9), time(18)); ValueError unless start < end."""
    start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    if not start < end:
        raise ValueError(f"business hours must start before they end: {text!r}")
    return start, end


def minutes_per_day(hours):
    """How many business minutes one business day has."""
    start, end = hours
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def _window(day, hours):
    """The business hours of `day` as aware JST datetimes."""
    return (datetime.combine(day, hours[0], JST), datetime.combine(day, hours[1], JST))


def add_business_minutes(start, minutes, hours):
    """The UTC instant `minutes` business minutes after `start` (naive UTC)."""
    moment = _aware_jst(start)
    left = timedelta(minutes=minutes)
    day = moment.date()
    for _ in range(MAX_DAYS):
        if is_business_day(day):
            opens, closes = _window(day, hours)
            begin = max(moment, opens)
            if begin < closes:
                if begin + left <= closes:
                    return to_utc_naive(begin + left)
                left -= closes - begin
        day += timedelta(days=1)
    raise ValueError(f"{minutes} business minutes is beyond the calendar")


def business_minutes_between(start, end, hours):
    """Business minutes from `start` to `end` (naive UTC); 0 when end is not after start."""
    begin, finish = _aware_jst(start), _aware_jst(end)
    total = timedelta()
    day = begin.date()
    while day <= finish.date():
        if is_business_day(day):
            opens, closes = _window(day, hours)
            low, high = max(begin, opens), min(finish, closes)
            if low < high:
                total += high - low
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


def _aware_jst(value):
    """A naive-UTC datetime as an aware JST one."""
    return value.replace(tzinfo=UTC).astimezone(JST)
