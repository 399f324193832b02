"""Check-in flags: the time limits of ``future_time`` and ``stale`` (their names: labels "checkin_flag").

The flags themselves are decided by the check-in statement (``gridmap.patrol.service``):
``outside_grid`` by the grid check, ``impossible_speed`` against the worker's previous
position, ``low_accuracy``, ``future_time`` and ``stale`` from the limits below.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gridmap.config import PatrolRules


def time_limits(now: datetime, rules: PatrolRules) -> tuple[datetime, datetime]:
    """(future_after, stale_before): recorded later than the first is ``future_time``,
    earlier than the second ``stale``."""
    return now + timedelta(seconds=rules.future_tolerance_s), now - timedelta(hours=rules.stale_hours)
