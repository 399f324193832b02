"""Check-in flags, decided in Python on whole arrays (no database, no Flask).

``outside_grid`` comes from the grid check (SQL, see ``service``); the others are here:
``low_accuracy``, ``future_time``, ``stale`` and ``impossible_speed``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from pyproj import Geod

from gridmap.patrol.settings import PatrolRules

OUTSIDE_GRID = "outside_grid"
LOW_ACCURACY = "low_accuracy"
IMPOSSIBLE_SPEED = "impossible_speed"
FUTURE_TIME = "future_time"
STALE = "stale"
ALL_FLAGS = (OUTSIDE_GRID, LOW_ACCURACY, IMPOSSIBLE_SPEED, FUTURE_TIME, STALE)

FLAG_NAMES = {
    OUTSIDE_GRID: "不在本网格",
    LOW_ACCURACY: "定位精度差",
    IMPOSSIBLE_SPEED: "移动速度异常",
    FUTURE_TIME: "时间超前",
    STALE: "补传过晚",
}

_GEOD = Geod(ellps="WGS84")


def time_limits(now: datetime, rules: PatrolRules) -> tuple[datetime, datetime]:
    """(future_after, stale_before): recorded later than the first is ``future_time``,
    earlier than the second ``stale``."""
    return now + timedelta(seconds=rules.future_tolerance_s), now - timedelta(hours=rules.stale_hours)


def geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distances on the WGS-84 ellipsoid, in metres (vectorised)."""
    args = [np.atleast_1d(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2)]
    if args[0].size == 0:
        return np.zeros(0)
    if args[0].size == 1:  # pyproj takes size-1 arrays for scalars
        return np.array([_GEOD.inv(*(float(a[0]) for a in args))[2]])
    _, _, dist = _GEOD.inv(*args)
    return np.atleast_1d(np.asarray(dist, dtype=float))


def impossible_speed(prev_lon, prev_lat, prev_acc, prev_t, lon, lat, acc, t, max_speed_kmh: float) -> np.ndarray:
    """True where moving from the previous position needed more than ``max_speed_kmh``.

    Both positions' reported accuracy is subtracted from the distance first, so GPS
    jitter standing still is never "fast". ``prev_*`` may hold NaN (no previous check-in).
    Times are seconds since any common epoch.
    """
    prev_lon = np.asarray(prev_lon, float)
    has_prev = np.isfinite(prev_lon)
    out = np.zeros(prev_lon.shape, dtype=bool)
    if not has_prev.any():
        return out
    sel = np.flatnonzero(has_prev)
    dist = geodesic_m(prev_lon[sel], np.asarray(prev_lat, float)[sel], np.asarray(lon, float)[sel],
                      np.asarray(lat, float)[sel])
    moved = np.maximum(dist - np.asarray(prev_acc, float)[sel] - np.asarray(acc, float)[sel], 0.0)
    dt = np.asarray(t, float)[sel] - np.asarray(prev_t, float)[sel]
    limit = max_speed_kmh / 3.6
    with np.errstate(divide="ignore", invalid="ignore"):
        fast = (moved > 0) & ((dt <= 0) | (moved / np.where(dt > 0, dt, 1.0) > limit))
    out[sel] = fast
    return out
