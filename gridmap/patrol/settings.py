"""Patrol rules, from the environment (``GRIDMAP_PATROL_*``); tests pass their own."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_VISIT_TAGS = ("孤寡老人", "困难家庭", "社区矫正", "老党员", "失业")


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _tags() -> tuple[str, ...]:
    raw = os.environ.get("GRIDMAP_PATROL_VISIT_TAGS")
    if not raw:
        return DEFAULT_VISIT_TAGS
    return tuple(t.strip() for t in raw.replace("，", ",").split(",") if t.strip())


@dataclass(frozen=True)
class PatrolRules:
    # impossible_speed: faster than this since the same worker's previous check-in
    # (after subtracting both positions' reported accuracy from the distance).
    max_speed_kmh: float = field(default_factory=lambda: _float("GRIDMAP_PATROL_MAX_SPEED_KMH", 120.0))
    # low_accuracy: reported accuracy worse than this.
    low_accuracy_m: float = field(default_factory=lambda: _float("GRIDMAP_PATROL_LOW_ACCURACY_M", 100.0))
    # future_time: recorded later than the server's clock plus this tolerance.
    future_tolerance_s: float = field(default_factory=lambda: _float("GRIDMAP_PATROL_FUTURE_TOLERANCE_S", 300.0))
    # stale: received this long after it was recorded (a phone offline for days).
    stale_hours: float = field(default_factory=lambda: _float("GRIDMAP_PATROL_STALE_HOURS", 72.0))
    # coverage: a household counts as passed when the track comes this close.
    coverage_radius_m: float = field(default_factory=lambda: _float("GRIDMAP_PATROL_COVERAGE_RADIUS_M", 50.0))
    # 五必访: household tags that require a visit every month.
    visit_tags: tuple[str, ...] = field(default_factory=_tags)
    # Partitions: months kept (retention) and months prepared ahead.
    retention_months: int = field(default_factory=lambda: int(_float("GRIDMAP_PATROL_RETENTION_MONTHS", 24)))
    months_ahead: int = field(default_factory=lambda: int(_float("GRIDMAP_PATROL_MONTHS_AHEAD", 3)))
