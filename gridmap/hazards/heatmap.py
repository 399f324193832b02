"""Hazard density for a bbox and zoom, aggregated in the database.

Points are snapped to a square grid (``ST_SnapToGrid``) whose cell is about 16 screen
pixels at the requested zoom, and never smaller than 1/160 of the bbox's longer side —
so a response holds at most ~25,600 cells (well under 1 MB) at any zoom.

Daily pre-aggregation: ``hazard_daily_cell`` counts hazards per Beijing day, grid, category
and fine cell (FINE_CELL degrees, ~50 m). A query whose date range is whole days (no bound,
or bounds at 00:00 Beijing time) and whose cell is at least DAILY_MIN_RATIO fine cells wide is
answered from it: fine cells are re-binned by their centre, so totals are exact and a point can
only move to the neighbouring view cell when it lies within FINE_CELL/2 of a cell border.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Float, func, literal, literal_column, select
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.hazards.calendar import CN_TZ, as_local
from gridmap.hazards.models import Hazard, HazardCategory, HazardDailyCell

FINE_CELL = 0.0005
DAILY_MIN_RATIO = 4

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


def whole_day(moment: datetime | None) -> bool:
    if moment is None:
        return True
    local = as_local(moment)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def _daily_cells(session: Session, scope: Scope, *, size: float, bbox: Bbox | None, since: datetime | None,
                 until: datetime | None, category: str | None, within: str | None) -> list[list[float]]:
    d = HazardDailyCell
    conditions = [scope.where(d.grid_code, within)]
    if since is not None:
        conditions.append(d.day >= as_local(since).date())
    if until is not None:
        conditions.append(d.day < as_local(until).date())
    if category:
        conditions.append(d.category_code.in_(
            select(HazardCategory.code).where((HazardCategory.code == category) | (HazardCategory.name == category))))
    if bbox is not None:
        conditions += [d.ix.between(math.ceil(bbox[0] / FINE_CELL), math.floor(bbox[2] / FINE_CELL)),
                       d.iy.between(math.ceil(bbox[1] / FINE_CELL), math.floor(bbox[3] / FINE_CELL))]
    ratio = FINE_CELL / size
    kx = func.round(d.ix * literal(ratio, Float)).label("kx")
    ky = func.round(d.iy * literal(ratio, Float)).label("ky")
    rows = session.execute(select(ky, kx, func.sum(d.n)).where(*conditions).group_by(ky, kx)).all()
    return [[round(float(y) * size, 7), round(float(x) * size, 7), int(n)] for y, x, n in rows]


def heatmap_cells(session: Session, scope: Scope, *, bbox: Bbox | None, zoom: int, since: datetime | None = None,
                  until: datetime | None = None, category: str | None = None,
                  within: str | None = None, daily: bool | None = None) -> dict[str, Any]:
    """``daily``: None chooses (pre-aggregated when the range is whole days and the cell coarse
    enough), True/False forces one path (tests and the benchmark compare them)."""
    size = cell_size(zoom, bbox)
    if daily is None:
        daily = whole_day(since) and whole_day(until) and size >= DAILY_MIN_RATIO * FINE_CELL
    if daily:
        cells = _daily_cells(session, scope, size=size, bbox=bbox, since=since, until=until, category=category,
                             within=within)
        return {"cells": cells, "cell_size": size, "total": sum(c[2] for c in cells), "source": "daily"}
    snapped = func.ST_SnapToGrid(Hazard.geom, size)
    rows = session.execute(
        select(func.ST_Y(snapped).label("lat"), func.ST_X(snapped).label("lon"), func.count().label("n"))
        .where(*filters(scope, within=within, bbox=bbox, since=since, until=until, category=category))
        .group_by(literal_column("1"), literal_column("2"))
    ).all()
    cells = [[round(lat, 7), round(lon, 7), n] for lat, lon, n in rows]
    return {"cells": cells, "cell_size": size, "total": sum(c[2] for c in cells), "source": "hazards"}


_CELL_KEY = """(created_at AT TIME ZONE 'Asia/Shanghai')::date, grid_code, category_code,
               round(ST_X(geom) / {fine})::int, round(ST_Y(geom) / {fine})::int""".format(fine=FINE_CELL)

RECORD_SQL = f"""
INSERT INTO hazard_daily_cell AS d (day, grid_code, category_code, ix, iy, n)
SELECT {_CELL_KEY}, 1 FROM hazard WHERE id = :id
ON CONFLICT (day, grid_code, category_code, ix, iy) DO UPDATE SET n = d.n + 1
"""

REFRESH_SQL = f"""
INSERT INTO hazard_daily_cell (day, grid_code, category_code, ix, iy, n)
SELECT {_CELL_KEY}, count(*) FROM hazard
 WHERE (CAST(:lo AS timestamptz) IS NULL OR created_at >= :lo) AND (CAST(:hi AS timestamptz) IS NULL OR created_at < :hi)
 GROUP BY 1, 2, 3, 4, 5
"""


def record_hazard(session: Session, hazard_id: int) -> None:
    """On write: count one new hazard into its day's cell (inside the reporting transaction)."""
    from sqlalchemy import text

    session.execute(text(RECORD_SQL), {"id": hazard_id})


def refresh_daily(session: Session, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Rebuild the Beijing days [since, until) (everything when open) from the hazard table, in one
    transaction: for bulk loads that bypass ``report`` (COPY, the benchmark) or a repair."""
    from sqlalchemy import delete, text

    from gridmap.db import transaction

    lo = datetime.combine(since, time(0), CN_TZ) if since else None
    hi = datetime.combine(until, time(0), CN_TZ) if until else None
    with transaction(session):
        conditions = []
        if since:
            conditions.append(HazardDailyCell.day >= since)
        if until:
            conditions.append(HazardDailyCell.day < until)
        deleted = session.execute(delete(HazardDailyCell).where(*conditions)).rowcount
        inserted = session.execute(text(REFRESH_SQL), {"lo": lo, "hi": hi}).rowcount
    return {"deleted": deleted, "cells": inserted}


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
