"""The demo grid workers' check-ins for a year, pure numpy (no DB).

Patrols. Every grid has a fixed round (``route``): stations every ~STATION_M along the street
that runs just inside its edge (grids are bounded by roads), with a detour at each station
into the compounds and key places nearest to it (one waypoint per occupied ~100 m block), so
the track passes the grid's households. On a working day the worker walks part of the round
(40–80%, from a different station each day, alternating direction), starting at 07:00–07:20,
at walking pace with a pause at every check-in; on a rest day one worker in three is on duty.
Positions carry the phone's error: a reported accuracy of ~5–20 m (rarely over 100 m, which is
flagged ``low_accuracy``), the point scattered by it; a point outside the grid by more than
its accuracy is flagged ``outside_grid``, as the check-in statement would.

五必访. Households with a visit tag are visited once a month, on a working-day afternoon
(from 14:00, one after another): in most grids nearly all of them, in the slower grids fewer,
which is what the 平安报表's patrol coverage shows. Today's check-ins stop at ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.clock import CHINA, add_months, this_month, today
from gridmap.config import PatrolRules

STATION_M = 320.0
BLOCK_M = 100.0
EDGE_INSET_M = 12.0
START = time(7, 0)
VISITS_FROM = time(14, 0)
PATROL_SHARE = {True: 0.95, False: 0.35}  # of workers patrolling on a working day / a rest day
VISIT_SHARE = {"fast": (0.93, 1.0), "steady": (0.72, 0.94), "slow": (0.45, 0.8)}
LOW_ACCURACY_M = PatrolRules().low_accuracy_m  # the product's default
VISIT_NOTES = ("上门走访，身体状况良好", "了解近况，无特殊需求", "送去慰问品，家中一切正常", "宣传防诈骗知识",
               "询问生活困难，已记录诉求", "电话预约后上门，家中安全")


@dataclass
class Checkins:
    """Check-ins as columns: worker, grid (indexes into the caller's lists), position (metres),
    moment (Unix seconds), delay until received (s), accuracy, household (index or -1), note, flags."""

    user: np.ndarray
    grid: np.ndarray
    xy: np.ndarray
    at: np.ndarray
    delay: np.ndarray
    accuracy: np.ndarray
    household: np.ndarray
    note: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return len(self.at)


def route(outline: BaseGeometry, homes: np.ndarray, places: np.ndarray) -> np.ndarray:
    """The grid's round (waypoints in order, metres): stations along the inner street, each
    followed by the blocks and key places nearest to it, nearest first."""
    inner = shapely.get_parts(outline.buffer(-EDGE_INSET_M))
    ring = shapely.get_exterior_ring(max(inner, key=lambda p: p.area) if len(inner) else
                                     max(shapely.get_parts(outline), key=lambda p: p.area))
    count = max(6, int(ring.length // STATION_M))
    stations = shapely.get_coordinates(shapely.line_interpolate_point(ring, np.arange(count) * ring.length / count))
    blocks = np.unique(np.round(homes / BLOCK_M), axis=0) * BLOCK_M if len(homes) else np.empty((0, 2))
    spots = np.vstack([blocks, places.reshape(-1, 2)])
    if len(spots) == 0:
        return stations
    distance = np.linalg.norm(spots[:, None, :] - stations[None, :, :], axis=2)
    nearest = distance.argmin(axis=1)
    waypoints = []
    for k in range(count):
        waypoints.append(stations[k])
        mine = np.flatnonzero(nearest == k)
        waypoints.extend(spots[mine[np.argsort(distance[mine, k])]])
    return np.array(waypoints)


def _noise(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Reported accuracy (m) and the position error it stands for."""
    accuracy = np.clip(rng.lognormal(np.log(9.0), 0.45, n), 3.0, 60.0)
    bad = rng.random(n) < 0.004
    accuracy[bad] = rng.uniform(110.0, 400.0, int(bad.sum()))
    return accuracy.astype(np.float32), rng.normal(0.0, 1.0, (n, 2)) * (accuracy[:, None] / 2.5)


def _flags(outline: BaseGeometry, xy: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    outside = ~shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
    far = np.zeros(len(xy), dtype=bool)
    if outside.any():
        far[outside] = shapely.distance(outline, shapely.points(xy[outside])) > accuracy[outside]
    low = accuracy > LOW_ACCURACY_M
    flags = np.full(len(xy), "", dtype=object)
    flags[far] = "outside_grid"
    flags[low] = np.where(far[low], "outside_grid|low_accuracy", "low_accuracy")
    return flags


def _delays(n: int, rng: np.random.Generator) -> np.ndarray:
    """Seconds from recording to receipt: a few seconds, or later for a phone that was offline."""
    delay = rng.lognormal(np.log(3.0), 0.8, n)
    late = rng.random(n) < 0.02
    delay[late] = rng.uniform(600.0, 6 * 3600.0, int(late.sum()))
    return delay


def _local(day: date, at: time) -> float:
    return datetime.combine(day, at, CHINA).timestamp()


def patrols(loop: np.ndarray, days: list[date], workdays: np.ndarray, share: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One grid's patrols on ``days`` (each taken with its share × ``share``): positions and moments."""
    taken = rng.random(len(days)) < np.where(workdays, PATROL_SHARE[True], PATROL_SHARE[False]) * share
    chosen = np.flatnonzero(taken)
    size = len(loop)
    if len(chosen) == 0 or size < 2:
        return np.empty((0, 2)), np.empty(0)
    lengths = np.maximum(2, np.round(size * rng.uniform(0.4, 0.8, len(chosen)))).astype(int)
    steps = np.arange(lengths.max())
    direction = np.where(chosen % 2 == 0, 1, -1)
    index = (rng.integers(0, size, len(chosen))[:, None] + direction[:, None] * steps[None, :]) % size
    points = loop[index]
    walk = np.linalg.norm(np.diff(points, axis=1), axis=2) / rng.normal(1.15, 0.1, (len(chosen), 1)).clip(0.8, 1.5)
    pause = rng.uniform(20.0, 150.0, walk.shape)
    start = np.array([_local(days[i], START) for i in chosen]) + rng.uniform(0.0, 1200.0, len(chosen))
    moments = start[:, None] + np.concatenate([np.zeros((len(chosen), 1)), np.cumsum(walk + pause, axis=1)], axis=1)
    keep = steps[None, :] < lengths[:, None]
    return points[keep], moments[keep]


def visits(homes: np.ndarray, months: list[list[date]], coverage: tuple[float, float],
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One grid's 五必访 visits: which of its tagged ``homes`` (indexes) and when, month by month;
    ``months``: each month's working days."""
    who, when = [], []
    for workdays in months:
        if not workdays or len(homes) == 0:
            continue
        visited = homes[rng.random(len(homes)) < rng.uniform(*coverage)]
        day = rng.integers(0, len(workdays), len(visited))
        order = np.argsort(day, kind="stable")
        visited, day = visited[order], day[order]
        rank = np.arange(len(day)) - np.searchsorted(day, day)  # the n-th visit of that afternoon
        base = np.array([_local(workdays[d], VISITS_FROM) for d in day])
        who.append(visited)
        when.append(base + rng.uniform(0, 1800, len(day)) + rank * 1500.0 + rng.uniform(0, 600, len(day)))
    if not who:
        return np.empty(0, dtype=int), np.empty(0)
    return np.concatenate(who), np.concatenate(when)


def year_of_checkins(grids: list, homes_xy: np.ndarray, home_grid: np.ndarray, visit_homes: np.ndarray,
                     places: dict[str, np.ndarray], workers: list[int], traits: list[str], days: list[date],
                     workdays: np.ndarray, month_workdays: list[list[date]], now: datetime, share: list[float],
                     rng: np.random.Generator) -> Checkins:
    """Every grid's patrols over ``days`` and visits over the working days of each month
    (``month_workdays``, whole months), up to ``now``. ``grids``: GridArea-likes (code, metric);
    ``home_grid``: each household's grid index (-1: none); ``visit_homes``: households with a
    visit tag (bool); ``places``: key places' positions per grid code; ``share``: per grid, of
    the usual patrol days."""
    parts = []
    for g, grid in enumerate(grids):
        mine = np.flatnonzero(home_grid == g)
        loop = route(grid.metric, homes_xy[mine], places.get(grid.code, np.empty((0, 2))))
        xy, at = patrols(loop, days, workdays, share[g], rng)
        tagged = mine[visit_homes[mine]]
        who, when = visits(tagged, month_workdays, VISIT_SHARE[traits[g]], rng)
        xy = np.vstack([xy, homes_xy[who].reshape(-1, 2)])
        at = np.concatenate([at, when])
        household = np.concatenate([np.full(len(at) - len(who), -1), who])
        keep = at <= now.timestamp()
        xy, at, household = xy[keep], at[keep], household[keep]
        accuracy, error = _noise(len(at), rng)
        xy = xy + error
        note = np.full(len(at), "", dtype=object)
        note[household >= 0] = rng.choice(VISIT_NOTES, int((household >= 0).sum()))
        parts.append(Checkins(np.full(len(at), workers[g]), np.full(len(at), g), xy, at,
                              np.minimum(_delays(len(at), rng), now.timestamp() - at), accuracy, household, note,
                              _flags(grid.metric, xy, accuracy)))
    return Checkins(*(np.concatenate([getattr(p, name) for p in parts]) for name in Checkins.__dataclass_fields__))


def window(now: datetime, months: int) -> list[date]:
    """The days from the first of the month ``months`` months ago to today (Beijing)."""
    day = today(now)
    first = add_months(this_month(day), -months)
    return [first + timedelta(days=i) for i in range((day - first).days + 1)]
