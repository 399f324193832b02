"""Working days on China's official calendar, with an honest fallback.

Precedence for each day: a year an administrator loaded into ``official_holiday``,
then chinese_calendar's data (holidays and 调休 make-up workdays), then — for a year
neither knows — weekends only, and the result says ``calendar: "fallback"``.

Counting rule: a deadline of n working days from a moment on a working day is the
same clock time n working days later (Wednesday 10:00 + 1 → Thursday 10:00). From a
rest day the clock starts at 00:00 of the next working day, so "within 1 working day"
of a Saturday report ends when Monday does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import chinese_calendar

from gridmap.clock import CHINA, as_local

OFFICIAL = "official"
FALLBACK = "fallback"
MAX_WORKING_DAYS = 366


@dataclass(frozen=True)
class Deadline:
    due: datetime
    calendar: str  # "official" | "fallback"


@dataclass(frozen=True)
class WorkCalendar:
    """``overrides``: the admin-loaded days (True = workday); ``loaded_years``: years they cover."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    loaded_years: frozenset[int] = frozenset()

    def is_workday(self, day: date) -> tuple[bool, str]:
        if day.year in self.loaded_years:
            return self.overrides.get(day, day.weekday() < 5), OFFICIAL
        try:
            return chinese_calendar.is_workday(day), OFFICIAL
        except NotImplementedError:  # beyond the package's data
            return day.weekday() < 5, FALLBACK

    def covers(self, year: int) -> bool:
        """True when ``year`` is on the official calendar (loaded or in chinese_calendar)."""
        return self.is_workday(date(year, 7, 1))[1] == OFFICIAL

    def add_working_days(self, start: datetime, days: int) -> Deadline:
        if days < 0 or days > MAX_WORKING_DAYS:
            raise ValueError(f"working days must be 0..{MAX_WORKING_DAYS}")
        local = as_local(start)
        day = local.date()
        clock = local.timetz().replace(tzinfo=None)
        sources: set[str] = set()
        workday, source = self.is_workday(day)
        sources.add(source)
        if not workday:
            day = self._next_workday(day, sources)
            clock = time(0, 0)
        for _ in range(days):
            day = self._next_workday(day, sources)
        due = datetime.combine(day, clock, tzinfo=CHINA)
        return Deadline(due, FALLBACK if FALLBACK in sources else OFFICIAL)

    def add_hours(self, start: datetime, hours: int) -> Deadline:
        """Clock hours (urgent cases) run through rest days; only the day's calendar is reported."""
        due = as_local(start) + timedelta(hours=hours)
        return Deadline(due, self.is_workday(due.date())[1])

    def _next_workday(self, day: date, sources: set[str]) -> date:
        while True:
            day += timedelta(days=1)
            workday, source = self.is_workday(day)
            sources.add(source)
            if workday:
                return day


def combined_calendar(first: Deadline, second: Deadline) -> str:
    """The combined calendar of two deadlines: fallback if either was."""
    return FALLBACK if FALLBACK in (first.calendar, second.calendar) else OFFICIAL
