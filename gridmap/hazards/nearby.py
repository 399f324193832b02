"""Where a report lands: the map grid under a point, and the open hazards of the same category
near it (a report's possible duplicates)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridmap.areas.models import Grid
from gridmap.auth.scope import Scope
from gridmap.hazards.models import OPEN_STATUSES, Hazard

DUPLICATE_RADIUS_M = 50.0


def grid_at(session: Session, lon: float, lat: float):
    """The map grid under the point (the lowest code where grids touch), or None."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    return session.execute(
        select(Grid.id, Grid.code, Grid.name, Grid.version)
        .where(Grid.kind == "map", func.ST_Intersects(Grid.geom, point)).order_by(Grid.code).limit(1)
    ).first()


def possible_duplicates(session: Session, scope: Scope, category: str, lon: float, lat: float,
                        exclude_id: int | None = None) -> list[dict[str, Any]]:
    """Open hazards of the same category within 50 m (GiST box prefilter, exact metres on geography)."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    # A box a little wider than 50 m in degrees so the GiST index does the first cut.
    pad = DUPLICATE_RADIUS_M * 1.2 / (111_320 * max(math.cos(math.radians(lat)), 0.1))
    distance = func.ST_Distance(func.geography(Hazard.geom), func.geography(point))
    rows = session.execute(
        select(Hazard.id, Hazard.code, Hazard.status, Hazard.description, distance.label("distance"))
        .where(Hazard.geom.op("&&")(func.ST_Expand(point, pad)),
               func.ST_DWithin(func.geography(Hazard.geom), func.geography(point), DUPLICATE_RADIUS_M),
               Hazard.category_code == category, Hazard.status.in_(OPEN_STATUSES),
               Hazard.id != (exclude_id or 0), scope.where(Hazard.grid_code))
        .order_by(distance).limit(20)
    ).all()
    return [{"id": r.id, "code": r.code, "status": r.status, "description": r.description,
             "distance_m": round(r.distance, 1)} for r in rows]
