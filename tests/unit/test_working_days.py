"""Working-day deadlines on the official calendar (chinese_calendar), admin-loaded years
and the weekends-only fallback past the calendar's data."""

from __future__ import annotations

from datetime import date, datetime

import chinese_calendar
import pytest

from gridmap.clock import CHINA
from gridmap.hazards.calendar import WorkCalendar

CAL = WorkCalendar()


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=CHINA)


def test_the_data_this_test_relies_on():
    # National Day 2026: 1–7 October off, Sunday 20 September and Saturday 10 October worked (调休).
    assert not chinese_calendar.is_workday(date(2026, 10, 1)) and not chinese_calendar.is_workday(date(2026, 10, 7))
    assert chinese_calendar.is_workday(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5
    # Spring Festival 2026: 15–23 February off; Saturdays 14 and 28 February worked.
    assert chinese_calendar.is_workday(date(2026, 2, 14)) and not chinese_calendar.is_workday(date(2026, 2, 23))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 3, 1))


@pytest.mark.parametrize(("start", "days", "due"), [
    (at(2026, 9, 30), 1, at(2026, 10, 8)),            # Wednesday before the holiday → Thursday after it
    (at(2026, 9, 30), 2, at(2026, 10, 9)),
    (at(2026, 9, 30), 3, at(2026, 10, 10)),           # the make-up Saturday counts
    (at(2026, 9, 30), 5, at(2026, 10, 13)),           # Sunday 11th does not
    (at(2026, 10, 3, 15), 1, at(2026, 10, 9, 0, 0)),  # reported on a holiday: all of Thursday 8th
    (at(2026, 10, 10, 9), 1, at(2026, 10, 12, 9)),    # reported on the make-up Saturday
    (at(2026, 9, 19, 11), 1, at(2026, 9, 21, 0, 0)),  # Saturday 19th off; Sunday 20th (调休) worked
])
def test_national_day_2026(start, days, due):
    deadline = CAL.add_working_days(start, days)
    assert (deadline.due, deadline.calendar) == (due, "official")


@pytest.mark.parametrize(("start", "days", "due"), [
    (at(2026, 2, 13), 1, at(2026, 2, 14)),            # Friday → the make-up Saturday
    (at(2026, 2, 13), 2, at(2026, 2, 24)),            # across the nine-day Spring Festival
    (at(2026, 2, 13), 3, at(2026, 2, 25)),
    (at(2026, 2, 16, 8), 3, at(2026, 2, 27, 0, 0)),   # reported during the festival
    (at(2026, 2, 26), 2, at(2026, 2, 28)),            # the second make-up Saturday
])
def test_spring_festival_2026(start, days, due):
    deadline = CAL.add_working_days(start, days)
    assert (deadline.due, deadline.calendar) == (due, "official")


def test_past_the_calendars_data_falls_back_to_weekends_and_says_so():
    # 1 January 2027 is a Friday: a holiday in reality, a workday on the fallback calendar.
    one = CAL.add_working_days(at(2026, 12, 31), 1)
    assert (one.due, one.calendar) == (at(2027, 1, 1), "fallback")
    three = CAL.add_working_days(at(2026, 12, 31), 3)
    assert (three.due, three.calendar) == (at(2027, 1, 5), "fallback")
    # Staying inside 2026 stays official.
    assert CAL.add_working_days(at(2026, 12, 29), 2).calendar == "official"
    assert not CAL.covers(2027) and CAL.covers(2026)


def test_an_admin_loaded_year_takes_precedence():
    # An admin's 2026 list: 1–8 October off (one day more than chinese_calendar has), no make-up day.
    days = {date(2026, 10, d): False for d in range(1, 9)} | {date(2027, 1, 1): False}
    loaded = WorkCalendar(overrides=days, loaded_years=frozenset({2026, 2027}))
    deadline = loaded.add_working_days(at(2026, 12, 31), 1)
    assert (deadline.due, deadline.calendar) == (at(2027, 1, 4), "official")
    # The loaded 2026 replaces chinese_calendar's: 8 October is off, and the make-up Saturday
    # is not listed, so it is a plain Saturday.
    assert loaded.add_working_days(at(2026, 9, 30), 1).due == at(2026, 10, 9)
    assert loaded.add_working_days(at(2026, 10, 9), 1).due == at(2026, 10, 12)
    assert loaded.covers(2027)


def test_hours_run_on_the_clock_and_naive_times_are_beijing_time():
    deadline = CAL.add_hours(at(2026, 10, 1, 23, 30), 1)
    assert deadline.due == at(2026, 10, 2, 0, 30)
    assert CAL.add_working_days(datetime(2026, 9, 30, 10), 1).due == at(2026, 10, 8)
    utc = datetime.fromisoformat("2026-09-30T02:00:00+00:00")  # 10:00 in Beijing
    assert CAL.add_working_days(utc, 1).due == at(2026, 10, 8)
    with pytest.raises(ValueError):
        CAL.add_working_days(utc, -1)
