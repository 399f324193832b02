"""Hazards per grid: households, hazards reported and hazards per 1,000 households, computed in
the database, with each grid's outline simplified for the map."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.hazard_stats.heatmap import category_code, half_open

GRID_DENSITY_SQL = """
WITH g AS (
    SELECT id, code, name, geom FROM grid WHERE code LIKE :prefix AND kind = 'map' AND geom IS NOT NULL
), hh AS (
    SELECT h.grid_id, count(*) AS households FROM household h WHERE h.grid_id IN (SELECT id FROM g) GROUP BY 1
), hz AS (
    SELECT z.grid_code, count(*) AS hazards FROM hazard z
     WHERE z.grid_code LIKE :prefix {conditions} GROUP BY 1
)
SELECT g.code, g.name, coalesce(hh.households, 0) AS households, coalesce(hz.hazards, 0) AS hazards,
       CASE WHEN coalesce(hh.households, 0) > 0
            THEN round(1000.0 * coalesce(hz.hazards, 0) / hh.households, 2) END AS per_1000,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(g.geom, :tolerance), 6) AS geometry
  FROM g LEFT JOIN hh ON hh.grid_id = g.id LEFT JOIN hz ON hz.grid_code = g.code
 ORDER BY g.code
"""


def grid_density(session: Session, scope: Scope, *, within: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, category: str | None = None, zoom: int = 13) -> dict[str, Any]:
    """Per grid: households, hazards reported (filters as the heatmap) and hazards per 1,000
    households, computed in the database; geometry simplified to about a pixel at ``zoom``."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return {"type": "FeatureCollection", "features": [], "total": 0}
    params = {"prefix": pattern, "tolerance": 360.0 / (256 * 2 ** zoom)}
    conditions = ["AND " + bound for bound in half_open(params, "z.created_at", "t", since, until)]
    code = category_code(session, category)
    if code:
        conditions.append("AND z.category_code = :cat")
        params["cat"] = code
    rows = session.execute(text(GRID_DENSITY_SQL.format(conditions=" ".join(conditions))), params).all()
    features = [{"type": "Feature", "geometry": json.loads(r.geometry),
                 "properties": {"code": r.code, "name": r.name, "households": r.households, "hazards": r.hazards,
                                "per_1000": float(r.per_1000) if r.per_1000 is not None else None}} for r in rows]
    return {"type": "FeatureCollection", "features": features, "total": len(features)}
