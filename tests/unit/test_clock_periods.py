"""Report periods (gridmap.clock): ISO weeks Monday–Sunday in Beijing, months, quarters and years;
labels, bounds, shifting across year ends, week 53 and the edges of the pattern."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gridmap.clock import (PERIOD_PATTERN, Period, last_periods, parse_period, period_of, shift_period, today)
from gridmap.errors import Unprocessable


@pytest.mark.parametrize(("label", "first", "after"), [
    ("2026-W49", date(2026, 11, 30), date(2026, 12, 7)),
    ("2026-W01", date(2025, 12, 29), date(2026, 1, 5)),   # week 1 starts in the year before
    ("2026-W53", date(2026, 12, 28), date(2027, 1, 4)),   # 2026 has 53 ISO weeks (starts on a Thursday)
    ("2020-W53", date(2020, 12, 28), date(2021, 1, 4)),   # a leap year starting on a Wednesday
    ("2026-11", date(2026, 11, 1), date(2026, 12, 1)),
    ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ("2026-Q1", date(2026, 1, 1), date(2026, 4, 1)),
    ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1)),
    ("2026", date(2026, 1, 1), date(2027, 1, 1)),
])
def test_labels_parse_to_their_days_and_back(label, first, after):
    period = parse_period(label)
    assert (period.first, period.after) == (first, after)
    assert period.label == label


@pytest.mark.parametrize("label", ["2025-W53", "2027-W53", "2026-W00", "2026-W54", "2026-Q0", "2026-Q5",
                                   "2026-13", "2026-00", "1999", "2101", "26", "2026-W5", "2026-q4", "2026-11-01",
                                   "2026 ", ""])
def test_bad_labels_are_refused(label):
    with pytest.raises(Unprocessable) as refused:
        parse_period(label)
    assert refused.value.code == "invalid_period"


def test_pattern_accepts_what_parse_accepts():
    import re

    assert all(re.match(PERIOD_PATTERN, v) for v in ("2000", "2100", "2100-Q4", "2100-W52", "2000-01"))
    assert not any(re.match(PERIOD_PATTERN, v) for v in ("1999-W01", "2026-W60", "2026-Q"))


@pytest.mark.parametrize(("kind", "day", "label"), [
    ("week", date(2026, 12, 6), "2026-W49"),    # Sunday: still the week that began on Monday 30 Nov
    ("week", date(2026, 12, 7), "2026-W50"),    # Monday: the next one
    ("week", date(2027, 1, 3), "2026-W53"),     # a January Sunday in the last ISO week of 2026
    ("week", date(2024, 12, 30), "2025-W01"),   # a December Monday in week 1 of the next year
    ("month", date(2026, 2, 28), "2026-02"),
    ("quarter", date(2026, 3, 31), "2026-Q1"),
    ("quarter", date(2026, 4, 1), "2026-Q2"),
    ("quarter", date(2026, 12, 31), "2026-Q4"),
    ("year", date(2026, 12, 31), "2026"),
])
def test_the_period_of_a_day(kind, day, label):
    assert period_of(kind, day).label == label


def test_bounds_are_beijing_midnights():
    start, end = parse_period("2026").bounds()
    assert start == datetime(2025, 12, 31, 16, tzinfo=UTC) and end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    # 31 Dec 2026 17:00 UTC is 1 Jan 2027 in Beijing: next year, next quarter, ISO week 53 of 2026.
    moment = datetime(2026, 12, 31, 17, tzinfo=UTC)
    assert period_of("year", today(moment)).label == "2027"
    assert period_of("quarter", today(moment)).label == "2027-Q1"
    assert period_of("week", today(moment)).label == "2026-W53"
    # A Sunday 23:30 in Beijing is Sunday 15:30 UTC: inside its week's bounds.
    week_start, week_end = parse_period("2026-W49").bounds()
    sunday_night = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)
    assert week_start <= sunday_night < week_end
    assert week_end == datetime(2026, 12, 6, 16, tzinfo=UTC)


@pytest.mark.parametrize(("label", "n", "expected"), [
    ("2026-W53", 1, "2027-W01"), ("2027-W01", -1, "2026-W53"), ("2026-W52", 1, "2026-W53"),
    ("2025-W52", 1, "2026-W01"), ("2026-12", 1, "2027-01"), ("2026-01", -1, "2025-12"),
    ("2026-Q4", 1, "2027-Q1"), ("2026-Q1", -1, "2025-Q4"), ("2026-Q2", -5, "2025-Q1"), ("2026", -3, "2023"),
])
def test_shift(label, n, expected):
    assert shift_period(parse_period(label), n).label == expected


def test_last_periods_end_with_the_current_one_oldest_first():
    moment = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)  # Sunday 23:30 in Beijing
    assert [p.label for p in last_periods("week", 3, moment=moment)] == ["2026-W47", "2026-W48", "2026-W49"]
    assert [p.label for p in last_periods("quarter", 2, parse_period("2027-Q1"))] == ["2026-Q4", "2027-Q1"]
    assert len(last_periods("month", 1, moment=moment)) == 1


def test_months_a_period_touches_and_its_last_day():
    assert parse_period("2026-W49").months() == [date(2026, 11, 1), date(2026, 12, 1)]
    assert parse_period("2026-Q4").months() == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert len(parse_period("2026").months()) == 12
    assert parse_period("2026-02").last == date(2026, 2, 28)
    assert Period(date(2026, 1, 1), date(2026, 2, 1), "month").label == "2026-01"
