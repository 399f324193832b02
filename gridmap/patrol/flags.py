"""Check-in flags: their order, and the time limits of ``future_time`` and ``stale`` (their names:
labels "checkin_flag").

The check-in statement (``gridmap.patrol.service``) stores them: ``outside_grid`` from the grid
check, ``impossible_speed`` against the worker's previous position, ``low_accuracy``,
``future_time`` and ``stale`` as the service found them with the limits below. The answer names
the same from the same facts (``named``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gridmap.config import PatrolRules

ORDER = ("outside_grid", "low_accuracy", "impossible_speed", "future_time", "stale")
# Every combination's list, by the bits of ``named``'s arguments in ORDER's order
_BY_BITS = tuple(tuple(flag for k, flag in enumerate(ORDER) if bits >> k & 1) for bits in range(1 << len(ORDER)))


def time_limits(now: datetime, rules: PatrolRules) -> tuple[datetime, datetime]:
    """(future_after, stale_before): recorded later than the first is ``future_time``,
    earlier than the second ``stale``."""
    return now + timedelta(seconds=rules.future_tolerance_s), now - timedelta(hours=rules.stale_hours)


def named(outside: bool, low: bool, fast: bool, future: bool, stale: bool) -> list[str]:
    """The flags raised, in ORDER's order (as the statement stores them)."""
    return list(_BY_BITS[outside | low << 1 | fast << 2 | future << 3 | stale << 4])
