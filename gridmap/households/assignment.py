"""Assign points to grids: the one rule, in its two twins side by side.

The rule: a household (or a party member, a key place) belongs to the map grid whose
polygon covers its point (boundary included); a point on a border shared by several
grids goes to the one with the smallest code. A household moved out or merged into
another belongs to none and is never re-assigned.

* In memory (``assign_points``): a shapely 2 STRtree over the points, queried with the
  grid polygons, for bulk imports before their one COPY.
* In SQL (``assign_all``, ``assign_near_grids``, ``assign_households``): set-wise over the stored households, for
  the admin's re-assignment and for grid re-imports and boundary edits.

tests/db/test_household_assignment.py holds the two to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.db import transaction

# --- in memory ------------------------------------------------------------------------

def load_grid_polygons(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """Map grids' ids and polygons, ordered by code (index order = tie-break order)."""
    rows = session.execute(text(
        "SELECT id, ST_AsBinary(geom) FROM grid WHERE kind = 'map' ORDER BY code")).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    polygons = shapely.from_wkb([bytes(r[1]) for r in rows]) if rows else np.array([], dtype=object)
    return ids, polygons


def assign_points(lon: np.ndarray, lat: np.ndarray, grid_ids: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Grid id per point (-1 outside every grid): covering grid, smallest code wins."""
    result = np.full(len(lon), -1, dtype=np.int64)
    if len(lon) == 0 or len(polygons) == 0:
        return result
    points = shapely.points(lon, lat)
    tree = shapely.STRtree(points)
    polygon_idx, point_idx = tree.query(polygons, predicate="intersects")
    if len(point_idx) == 0:
        return result
    order = np.lexsort((polygon_idx, point_idx))  # by point, then by grid code rank
    point_idx, polygon_idx = point_idx[order], polygon_idx[order]
    first = np.ones(len(point_idx), dtype=bool)
    first[1:] = point_idx[1:] != point_idx[:-1]
    result[point_idx[first]] = grid_ids[polygon_idx[first]]
    return result


# --- in SQL ---------------------------------------------------------------------------

# Grid-outer: for each polygon, probe the household GiST index and test the points
# against that one polygon, which PostGIS prepares once and reuses. Left to itself the
# planner drives the join from the households (a fresh polygon per point, ~3x slower at
# 1M rows); the LATERAL subquery with OFFSET 0 cannot be flattened, which pins the order.
ASSIGN_SQL = """
WITH covering AS (
    SELECT DISTINCT ON (h.id) h.id, g.id AS grid_id
    FROM grid g
    CROSS JOIN LATERAL (
        SELECT h.id FROM household h
        WHERE ST_Intersects(g.geom, h.geom) AND h.status = 'active' {household_filter}
        OFFSET 0
    ) h
    WHERE g.kind = 'map'
    ORDER BY h.id, g.code
), target AS (
    SELECT h.id, h.grid_id AS old_grid_id, c.grid_id AS new_grid_id
    FROM household h LEFT JOIN covering c ON c.id = h.id
    WHERE h.status = 'active' {household_filter}
), changed AS (
    UPDATE household h SET grid_id = t.new_grid_id, updated_at = now()
    FROM target t
    WHERE h.id = t.id AND h.grid_id IS DISTINCT FROM t.new_grid_id
    RETURNING t.old_grid_id, t.new_grid_id
)
SELECT
    (SELECT count(*) FROM target WHERE new_grid_id IS NOT NULL) AS assigned,
    (SELECT count(*) FROM target WHERE new_grid_id IS NULL) AS unassigned,
    (SELECT count(*) FROM changed WHERE old_grid_id IS NOT NULL AND new_grid_id IS NOT NULL) AS moved,
    (SELECT count(*) FROM changed WHERE old_grid_id IS NULL) AS newly_assigned,
    (SELECT count(*) FROM changed WHERE new_grid_id IS NULL) AS dropped
"""


@dataclass(frozen=True)
class AssignResult:
    assigned: int
    unassigned: int
    moved: int
    newly_assigned: int
    dropped: int

    def as_dict(self) -> dict[str, int]:
        return {"assigned": self.assigned, "unassigned": self.unassigned, "moved": self.moved,
                "newly_assigned": self.newly_assigned, "dropped": self.dropped}


def assign_all(session: Session) -> AssignResult:
    """Re-assign every household (admin's `POST /assign` and `gridmap assign`)."""
    with transaction(session):
        row = session.execute(text(ASSIGN_SQL.format(household_filter=""))).one()
    return AssignResult(*row)


def assign_near_grids(session: Session, grid_ids: list[int]) -> AssignResult:
    """Re-assign only households that a change to ``grid_ids`` can affect: those
    inside the grids' current or previous boundaries, or assigned to them now.
    Runs inside the caller's transaction."""
    if not grid_ids:
        return AssignResult(0, 0, 0, 0, 0)
    household_filter = """AND (
        h.grid_id = ANY(:grid_ids)
        OR EXISTS (SELECT 1 FROM grid_version v WHERE v.grid_id = ANY(:grid_ids)
                   AND ST_Intersects(v.geom, h.geom))
    )"""
    row = session.execute(
        text(ASSIGN_SQL.format(household_filter=household_filter)),
        {"grid_ids": grid_ids},
    ).one()
    return AssignResult(*row)


def assign_households(session: Session, household_ids: list[int]) -> AssignResult:
    """Re-assign the given households (an edited point, a household back from moved out).
    Runs inside the caller's transaction."""
    row = session.execute(text(ASSIGN_SQL.format(household_filter="AND h.id = ANY(:household_ids)")),
                          {"household_ids": household_ids}).one()
    return AssignResult(*row)
