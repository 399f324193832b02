"""Which party member looks after which household: a capacity-constrained assignment.

Pure numpy/scipy, no DB. Each member looks after at most ``capacity[m]`` households;
as many households as the capacities allow are covered, and among all such
assignments the total distance is the smallest. This is the transportation problem;
with members replicated once per free slot it becomes a rectangular assignment
problem, which ``scipy.optimize.linear_sum_assignment`` solves exactly (a household
per slot; when there are fewer slots than households, the best subset of households
is covered). Distances are great-circle metres (haversine), a fair proxy for the
walk inside one grid.

``greedy_nearest_first`` is the obvious heuristic (take the closest free pair, repeat);
it is kept as the baseline the tests and the benchmark compare against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

EARTH_RADIUS_M = 6_371_008.8


def haversine_matrix(lon_a: np.ndarray, lat_a: np.ndarray, lon_b: np.ndarray, lat_b: np.ndarray) -> np.ndarray:
    """Metres between every point of A (rows) and every point of B (columns)."""
    la1, lo1 = np.radians(np.asarray(lat_a, float))[:, None], np.radians(np.asarray(lon_a, float))[:, None]
    la2, lo2 = np.radians(np.asarray(lat_b, float))[None, :], np.radians(np.asarray(lon_b, float))[None, :]
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass(frozen=True)
class Assignment:
    member_of: np.ndarray  # per household: index into the members, -1 when uncovered
    distance_m: np.ndarray  # per household: metres to its member (nan when uncovered)

    @property
    def total_m(self) -> float:
        return float(np.nansum(self.distance_m))

    @property
    def covered(self) -> int:
        return int((self.member_of >= 0).sum())


def _result(member_of: np.ndarray, dist: np.ndarray) -> Assignment:
    rows = np.flatnonzero(member_of >= 0)
    distance = np.full(len(member_of), np.nan)
    distance[rows] = dist[rows, member_of[rows]]
    return Assignment(member_of, distance)


def assign_contacts(dist: np.ndarray, capacity: np.ndarray) -> Assignment:
    """Optimal assignment for a households × members distance matrix and per-member capacities."""
    dist = np.asarray(dist, dtype=float)
    n_households = dist.shape[0]
    member_of = np.full(n_households, -1, dtype=np.int64)
    capacity = np.minimum(np.maximum(np.asarray(capacity, dtype=np.int64), 0), n_households)
    if n_households == 0 or capacity.sum() == 0:
        return _result(member_of, dist)
    slots = np.repeat(np.arange(len(capacity)), capacity)  # one column per free place
    rows, cols = linear_sum_assignment(dist[:, slots])
    member_of[rows] = slots[cols]
    return _result(member_of, dist)


def greedy_nearest_first(dist: np.ndarray, capacity: np.ndarray) -> Assignment:
    """Baseline: repeatedly take the closest (household, member) pair with room left."""
    dist = np.asarray(dist, dtype=float)
    member_of = np.full(dist.shape[0], -1, dtype=np.int64)
    left = np.asarray(capacity, dtype=np.int64).copy()
    for flat in np.argsort(dist, axis=None, kind="stable"):
        h, m = divmod(int(flat), dist.shape[1])
        if member_of[h] < 0 and left[m] > 0:
            member_of[h] = m
            left[m] -= 1
    return _result(member_of, dist)
