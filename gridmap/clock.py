"""Time as the product speaks it: China Standard Time, calendar days and months.

Every record is stored as an absolute moment (``timestamptz``); every day, month and
deadline a person sees is Beijing time. This module is the one place that says so, and
the one place a day or a month is read from text (years 2000–2100, every day a real
calendar day: far-off years cannot bound real records and overflow period arithmetic).
It imports nothing of the product but its errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from gridmap.errors import Unprocessable

CHINA = ZoneInfo("Asia/Shanghai")
# The same zone by name, for SQL: ``(created_at AT TIME ZONE 'Asia/Shanghai')::date``.
CHINA_SQL = "Asia/Shanghai"

_YEAR = r"(?:20[0-9]{2}|2100)"
_MONTH_DAY = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
              r"|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_LEAP_DAY = r"20(?:[02468][048]|[13579][26])-02-29"  # 2100 is no leap year
_DAY = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
_TIME = r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
DAY_PATTERN = rf"^{_DAY}$"
MONTH_PATTERN = rf"^{_YEAR}-(?:0[1-9]|1[0-2])$"
MOMENT_PATTERN = rf"^{_DAY}{_TIME}$"
_DAY_RE = re.compile(DAY_PATTERN)
_MONTH_RE = re.compile(MONTH_PATTERN)


def now() -> datetime:
    """This moment, as an aware UTC datetime (what is stored)."""
    return datetime.now(UTC)


def as_local(moment: datetime) -> datetime:
    """A moment in China Standard Time; a naive datetime is taken to be local time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA)
    return moment.astimezone(CHINA)


def today(moment: datetime | None = None) -> date:
    """The calendar day in Beijing at ``moment`` (now by default)."""
    return as_local(moment or now()).date()


def this_month(day: date | None = None) -> date:
    """The first day of ``day``'s month (today's in Beijing by default)."""
    return (day or today()).replace(day=1)


def add_months(month: date, n: int) -> date:
    """The first day of the month ``n`` months after ``month``'s (before it when negative)."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The moments a Beijing day starts and the next one starts."""
    start = datetime.combine(day, time(0), CHINA)
    return start, datetime.combine(date.fromordinal(day.toordinal() + 1), time(0), CHINA)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The moments ``month`` starts and the next month starts, in Beijing."""
    first = month.replace(day=1)
    return datetime.combine(first, time(0), CHINA), datetime.combine(add_months(first, 1), time(0), CHINA)


def parse_day(value: date | str) -> date:
    """A YYYY-MM-DD day from a page's query or a CLI argument, by the API's rule (422 otherwise)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY_RE.match(value):
        raise Unprocessable("invalid_date", details={"date": str(value)})
    return date.fromisoformat(value)


def parse_month(value: date | str) -> date:
    """The first day of a YYYY-MM month, by the API's rule (422 otherwise)."""
    if isinstance(value, date):
        return value.replace(day=1)
    if not isinstance(value, str) or not _MONTH_RE.match(value):
        raise Unprocessable("invalid_month", details={"month": str(value)})
    return date(int(value[:4]), int(value[5:]), 1)


def day_or_today(value: date | str | None) -> date:
    """``parse_day`` of a given value; today in Beijing when none is given."""
    return parse_day(value) if value else today()


def month_or_this(value: date | str | None) -> date:
    """``parse_month`` of a given value; this month in Beijing when none is given."""
    return parse_month(value) if value else this_month()


# --- report periods: a Beijing week (Monday–Sunday, ISO 8601 numbering), month, quarter or year ---

PERIOD_KINDS = ("week", "month", "quarter", "year")
PERIOD_PATTERN = rf"^{_YEAR}(?:-W(?:0[1-9]|[1-4][0-9]|5[0-3])|-(?:0[1-9]|1[0-2])|-Q[1-4])?$"
_PERIOD_RE = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True, order=True)
class Period:
    """A report period: its ``first`` day and the first day after it (Beijing calendar days)."""

    first: date
    after: date
    kind: str

    @property
    def label(self) -> str:
        """``2026-W49``, ``2026-11``, ``2026-Q4`` or ``2026`` (an ISO week takes its ISO year)."""
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.year}"

    @property
    def last(self) -> date:
        """The period's last day."""
        return date.fromordinal(self.after.toordinal() - 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The moments the period starts and the next one starts, in Beijing."""
        return datetime.combine(self.first, time(0), CHINA), datetime.combine(self.after, time(0), CHINA)

    def months(self) -> list[date]:
        """The first days of the calendar months the period touches, in order."""
        out, month = [], self.first.replace(day=1)
        while month < self.after:
            out.append(month)
            month = add_months(month, 1)
        return out


def period_of(kind: str, day: date) -> Period:
    """The period of ``kind`` that holds the Beijing ``day``."""
    if kind == "week":
        first = date.fromordinal(day.toordinal() - day.weekday())
        return Period(first, date.fromordinal(first.toordinal() + 7), kind)
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    first = date(day.year, 1, 1) if kind == "year" else date(day.year, (day.month - 1) // months * months + 1, 1)
    return Period(first, add_months(first, months), kind)


def shift_period(period: Period, n: int) -> Period:
    """The period ``n`` periods after ``period`` (before it when negative), of the same kind."""
    if period.kind == "week":
        return period_of("week", date.fromordinal(period.first.toordinal() + 7 * n))
    months = {"month": 1, "quarter": 3, "year": 12}[period.kind]
    return period_of(period.kind, add_months(period.first, months * n))


def last_periods(kind: str, count: int, until: Period | None = None, moment: datetime | None = None) -> list[Period]:
    """``count`` periods of ``kind`` ending with ``until`` (the current one by default), oldest first."""
    last = until or period_of(kind, today(moment))
    return [shift_period(last, n) for n in range(1 - count, 1)]


def parse_period(value: str) -> Period:
    """A period from its label (``2026-W49``, ``2026-11``, ``2026-Q4``, ``2026``), 422 otherwise
    (also a week 53 in a year of 52 ISO weeks)."""
    if not isinstance(value, str) or not _PERIOD_RE.match(value):
        raise Unprocessable("invalid_period", details={"period": str(value)})
    year = int(value[:4])
    if "-W" in value:
        try:
            monday = date.fromisocalendar(year, int(value[6:]), 1)
        except ValueError:
            raise Unprocessable("invalid_period", details={"period": value}) from None
        return period_of("week", monday)
    if "-Q" in value:
        return period_of("quarter", date(year, int(value[6:]) * 3 - 2, 1))
    if len(value) == 4:
        return period_of("year", date(year, 1, 1))
    return period_of("month", date(year, int(value[5:]), 1))
