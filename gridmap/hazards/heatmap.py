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
