"""Hazard density for a bbox and zoom, aggregated in the database.

Points are snapped to a square grid (``ST_SnapToGrid``) whose cell is about 16 screen
pixels at the requested zoom, and never smaller than 1/160 of the bbox's longer side —
so a response holds at most ~25,600 cells (well under 1 MB) at any zoom.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.hazards.models import Hazard, HazardCategory

CELL_PIXELS = 16
MAX_CELLS_PER_SIDE = 160
Bbox = tuple[float, float, float, float]


def cell_size(zoom: int, bbox: Bbox | None = None) -> float:
    """Cell side in degrees: ~16 px at ``zoom`` (256-px Web Mercator tiles), capped by the bbox."""
    size = 360.0 / (256 * 2 ** zoom) * CELL_PIXELS
    if bbox is not None:
        size = max(size, max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / MAX_CELLS_PER_SIDE)
    # A round number of 1e-7 degrees, so repeated requests group identically.
    return round(size, 7) or 1e-7


def filters(scope: Scope, *, within: str | None = None, bbox: Bbox | None = None, since: datetime | None = None,
            until: datetime | None = None, category: str | None = None) -> list[Any]:
    conditions = [scope.where(Hazard.grid_code, within)]
    if bbox is not None:
        conditions.append(Hazard.geom.op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))
    if since is not None:
        conditions.append(Hazard.created_at >= since)
    if until is not None:
        conditions.append(Hazard.created_at < until)
    if category:
        conditions.append(Hazard.category_code.in_(
            select(HazardCategory.code).where((HazardCategory.code == category) | (HazardCategory.name == category))))
    return conditions


def heatmap_cells(session: Session, scope: Scope, *, bbox: Bbox | None, zoom: int, since: datetime | None = None,
                  until: datetime | None = None, category: str | None = None,
                  within: str | None = None) -> dict[str, Any]:
    size = cell_size(zoom, bbox)
    snapped = func.ST_SnapToGrid(Hazard.geom, size)
    rows = session.execute(
        select(func.ST_Y(snapped).label("lat"), func.ST_X(snapped).label("lon"), func.count().label("n"))
        .where(*filters(scope, within=within, bbox=bbox, since=since, until=until, category=category))
        .group_by(literal_column("1"), literal_column("2"))
    ).all()
    cells = [[round(lat, 7), round(lon, 7), n] for lat, lon, n in rows]
    return {"cells": cells, "cell_size": size, "total": sum(c[2] for c in cells)}


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
    import json

    from sqlalchemy import text

    prefix = scope.narrow(within)
    if prefix is None:
        return {"type": "FeatureCollection", "features": [], "total": 0}
    conditions, params = [], {"prefix": prefix + "%", "tolerance": 360.0 / (256 * 2 ** zoom)}
    if since is not None:
        conditions.append("AND z.created_at >= :since")
        params["since"] = since
    if until is not None:
        conditions.append("AND z.created_at < :until")
        params["until"] = until
    if category:
        conditions.append("AND z.category_code IN (SELECT code FROM hazard_category WHERE code = :cat OR name = :cat)")
        params["cat"] = category
    rows = session.execute(text(GRID_DENSITY_SQL.format(conditions=" ".join(conditions))), params).all()
    features = [{"type": "Feature", "geometry": json.loads(r.geometry),
                 "properties": {"code": r.code, "name": r.name, "households": r.households, "hazards": r.hazards,
                                "per_1000": float(r.per_1000) if r.per_1000 is not None else None}} for r in rows]
    return {"type": "FeatureCollection", "features": features, "total": len(features)}
