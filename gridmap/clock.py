"""Time as the product speaks it: China Standard Time, calendar days and months.

Every record is stored as an absolute moment (``timestamptz``); every day, month and
deadline a person sees is Beijing time. This module is the one place that says so, and
the one place a day or a month is read from text (years 2000–2100, every day a real
calendar day: far-off years cannot bound real records and overflow period arithmetic).
It imports nothing of the product but its errors.
"""

from __future__ import annotations

import re
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
