"""Beijing time, days and months: the edges every page, report and partition relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gridmap import clock
from gridmap.errors import Unprocessable


def test_a_utc_evening_is_the_next_day_in_beijing():
    assert clock.today(datetime(2026, 12, 31, 15, 59, tzinfo=UTC)) == date(2026, 12, 31)
    assert clock.today(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == date(2027, 1, 1)


def test_a_naive_moment_is_already_beijing_time():
    local = clock.as_local(datetime(2026, 5, 1, 9, 30))
    assert (local.hour, local.utcoffset().total_seconds()) == (9, 8 * 3600)
    assert clock.as_local(datetime(2026, 5, 1, 1, 30, tzinfo=UTC)).hour == 9


def test_now_is_aware_utc():
    assert clock.now().tzinfo is UTC


@pytest.mark.parametrize(("month", "n", "expected"), [
    (date(2026, 12, 1), 1, date(2027, 1, 1)),
    (date(2026, 1, 1), -1, date(2025, 12, 1)),
    (date(2026, 3, 1), 0, date(2026, 3, 1)),
    (date(2026, 3, 1), -24, date(2024, 3, 1)),
    (date(2026, 11, 1), 14, date(2028, 1, 1)),
])
def test_add_months_crosses_years_both_ways(month, n, expected):
    assert clock.add_months(month, n) == expected


def test_this_month_is_the_first_day():
    assert clock.this_month(date(2026, 2, 28)) == date(2026, 2, 1)


def test_bounds_start_at_beijing_midnight():
    start, end = clock.day_bounds(date(2026, 12, 31))
    assert start == datetime(2026, 12, 30, 16, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    start, end = clock.month_bounds(date(2026, 12, 15))
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2000-01-01", "2024-02-29", "2100-12-31", "2026-04-30"])
def test_real_days_parse(text):
    assert clock.parse_day(text) == date.fromisoformat(text)


@pytest.mark.parametrize("text", ["1999-12-31", "2101-01-01", "2100-02-29", "2026-02-29", "2026-04-31",
                                  "2026-4-1", "2026-04-01T00:00", " 2026-04-01", "", "昨天"])
def test_anything_else_is_a_422_naming_the_value(text):
    with pytest.raises(Unprocessable) as refused:
        clock.parse_day(text)
    assert (refused.value.code, refused.value.details) == ("invalid_date", {"date": text})


@pytest.mark.parametrize(("text", "expected"), [("2000-01", date(2000, 1, 1)), ("2100-12", date(2100, 12, 1)),
                                                ("2026-10", date(2026, 10, 1))])
def test_months_parse_to_their_first_day(text, expected):
    assert clock.parse_month(text) == expected


@pytest.mark.parametrize("text", ["1999-12", "2101-01", "2026-13", "2026-00", "2026-1", "2026-10-01", ""])
def test_bad_months_are_a_422(text):
    with pytest.raises(Unprocessable) as refused:
        clock.parse_month(text)
    assert (refused.value.code, refused.value.details) == ("invalid_month", {"month": text})


def test_parsed_values_pass_through_and_missing_ones_mean_now():
    assert clock.parse_day(date(2026, 1, 2)) == date(2026, 1, 2)
    assert clock.parse_month(date(2026, 1, 2)) == date(2026, 1, 1)
    assert clock.day_or_today(None) == clock.today()
    assert clock.month_or_this("") == clock.this_month()
    assert clock.day_or_today("2026-03-04") == date(2026, 3, 4)
    assert clock.month_or_this("2026-03") == date(2026, 3, 1)
