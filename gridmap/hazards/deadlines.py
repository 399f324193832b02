"""Deadlines in working days: the official holiday list an administrator loads (it beats
chinese_calendar), the deadline rules per category and severity, and the calendar note's years."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, extract, or_, select
from sqlalchemy.orm import Session

from gridmap.db import transaction
from gridmap.errors import Unprocessable
from gridmap.hazards.calendar import Deadline, WorkCalendar
from gridmap.hazards.models import HazardDeadlineRule, OfficialHoliday


def work_calendar(session: Session) -> WorkCalendar:
    """The official calendar with every admin-loaded year (a few dozen rows a year)."""
    rows = session.execute(select(OfficialHoliday.day, OfficialHoliday.is_workday)).all()
    return WorkCalendar(overrides={d: w for d, w in rows}, loaded_years=frozenset(d.year for d, _ in rows))


def deadline(session: Session, start: datetime, working_days: int) -> dict[str, Any]:
    result = work_calendar(session).add_working_days(start, working_days)
    return {"due": result.due.isoformat(), "calendar": result.calendar}


def load_holidays(session: Session, year: int, days: Iterable[tuple[date, bool, str]], source: str) -> dict[str, Any]:
    """Replace ``year``'s official list (holidays and make-up workdays); it then beats chinese_calendar."""
    rows = list(days)
    for day, _, _ in rows:
        if day.year != year:
            raise Unprocessable("holiday_year_mismatch", details={"day": day.isoformat()}, day=day.isoformat(),
                                year=year)
    with transaction(session):
        session.execute(delete(OfficialHoliday).where(extract("year", OfficialHoliday.day) == year))
        session.add_all(OfficialHoliday(day=d, is_workday=w, name=n, source=source) for d, w, n in rows)
    return {"year": year, "days": len(rows), "holidays": sum(1 for _, w, _ in rows if not w),
            "workdays": sum(1 for _, w, _ in rows if w)}


def fallback_years(session: Session, years: Iterable[int]) -> list[int]:
    calendar = work_calendar(session)
    return sorted({y for y in years if not calendar.covers(y)})


def _rule(session: Session, category: str, severity: str) -> HazardDeadlineRule:
    """The category's own rule for this severity, else the catalogue-wide one."""
    return session.scalars(
        select(HazardDeadlineRule)
        .where(HazardDeadlineRule.severity == severity,
               or_(HazardDeadlineRule.category_code == category, HazardDeadlineRule.category_code.is_(None)))
        .order_by(HazardDeadlineRule.category_code.is_(None))
    ).first()


def deadlines_for(session: Session, category: str, severity: str, start: datetime) -> tuple[Deadline, Deadline]:
    rule = _rule(session, category, severity)
    calendar = work_calendar(session)

    def one(days: int | None, hours: int | None) -> Deadline:
        return calendar.add_hours(start, hours) if hours is not None else calendar.add_working_days(start, days or 0)

    return (one(rule.accept_working_days, rule.accept_hours), one(rule.resolve_working_days, rule.resolve_hours))
