"""Reading admin units and grids: lists, detail with counts by tag, locate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Text, cast, column, func, literal_column, select, table, text
from sqlalchemy.dialects.postgresql import ARRAY, JSON
from sqlalchemy.orm import Session, aliased

from gridmap.areas.models import AdminUnit, Grid
from gridmap.auth.masking import mask_tag_counts, sees_unmasked, shows_masked_tag
from gridmap.auth.scope import Scope
from gridmap.coordinates import point_to_wgs84
from gridmap.errors import NotFound
from gridmap.messages import message

Bbox = tuple[float, float, float, float]

# The household table as a grid's figures read it: gridmap.households owns it (households
# import areas, so areas reads the table, not the model).
_household = table("household", column("grid_id"), column("tags", ARRAY(Text)), column("risk_level"),
                  column("size"))


def area_json(unit: AdminUnit, parent_code: str | None) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "level": unit.level, "parent_code": parent_code}


def list_areas(session: Session, scope: Scope, parent: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Children of ``parent``; without a parent, the top of what the user may see."""
    parent_unit = aliased(AdminUnit)
    query = select(AdminUnit, parent_unit.code).outerjoin(parent_unit, AdminUnit.parent_id == parent_unit.id)
    if parent:
        query = query.where(parent_unit.code == parent, scope.where(AdminUnit.code))
    elif scope.prefix:
        # The highest units inside the scope: those whose parent lies outside it.
        query = query.where(scope.where(AdminUnit.code),
                            (parent_unit.code.is_(None)) | ~scope.where(parent_unit.code))
    else:
        query = query.where(AdminUnit.parent_id.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(AdminUnit.code).limit(limit).offset(offset)).all()
    return {"items": [area_json(unit, parent_code) for unit, parent_code in rows], "total": total}


def _household_count(grid: type[Grid] = Grid):
    return (
        select(func.count()).select_from(_household).where(_household.c.grid_id == grid.id)
        .correlate(grid).scalar_subquery()
    )


def _grid_filter(scope: Scope, within: str | None, bbox: Bbox | None, q: str | None = None) -> list[Any]:
    conditions = [scope.where(Grid.code, within), Grid.retired_at.is_(None)]
    if bbox is not None:
        conditions.append(Grid.geom.op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))
    if q:  # a code's beginning or any part of the name, taken literally
        conditions.append(Grid.code.startswith(q, autoescape=True) | Grid.name.contains(q, autoescape=True))
    return conditions


def _grid_select(scope: Scope, within: str | None, bbox: Bbox | None, q: str | None = None) -> Select:
    community = aliased(AdminUnit)
    return (
        select(
            Grid.id, Grid.code, Grid.name, Grid.kind, Grid.version, Grid.target_min, Grid.target_max,
            community.code.label("community_code"), community.name.label("community_name"),
            _household_count().label("households"),
            cast(func.ST_AsGeoJSON(Grid.geom, 7), JSON).label("geometry"),
        )
        .join(community, community.id == Grid.community_id)
        .where(*_grid_filter(scope, within, bbox, q))
    )


def _feature(row: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": row.code,
        "geometry": row.geometry,
        "properties": {
            "code": row.code, "name": row.name, "kind": row.kind,
            "community_code": row.community_code, "community_name": row.community_name,
            "households": row.households, "target_min": row.target_min, "target_max": row.target_max,
            "version": row.version,
        },
    }


def list_grids(session: Session, scope: Scope, within: str | None, bbox: Bbox | None,
               limit: int, offset: int, *, q: str | None = None) -> dict[str, Any]:
    query = _grid_select(scope, within, bbox, q)
    total = session.scalar(select(func.count()).select_from(Grid).where(*_grid_filter(scope, within, bbox, q)))
    rows = session.execute(query.order_by(Grid.code).limit(limit).offset(offset)).all()
    return {"type": "FeatureCollection", "features": [_feature(r) for r in rows], "total": total}


GRID_FILL_COUNTS_SQL = text("""
WITH g AS (
    SELECT g.id, g.target_min, g.target_max, g.geom FROM grid g
     WHERE g.code LIKE :prefix AND g.kind = 'map' AND g.retired_at IS NULL
), n AS (
    SELECT g.id, g.target_min, g.target_max, count(h.grid_id) AS households
      FROM g LEFT JOIN household h ON h.grid_id = g.id GROUP BY g.id, g.target_min, g.target_max
)
SELECT count(*) FILTER (WHERE households = 0) AS empty,
       count(*) FILTER (WHERE households > 0 AND households < target_min) AS under,
       count(*) FILTER (WHERE households > target_max) AS over,
       count(*) FILTER (WHERE households > 0 AND households BETWEEN target_min AND target_max) AS within,
       count(*) AS total,
       (SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM (SELECT ST_Extent(geom) AS e FROM g) x) AS bounds
  FROM n
""")


def grid_fill_counts(session: Session, scope: Scope, within: str | None) -> dict[str, Any]:
    """How many of the area's map grids are under, within or over their target or empty (the
    tile layer's ``fill``), their total, and their extent (minLon, minLat, maxLon, maxLat) or None."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return {"counts": {"under": 0, "within": 0, "over": 0, "empty": 0}, "total": 0, "bounds": None}
    row = session.execute(GRID_FILL_COUNTS_SQL, {"prefix": pattern}).one()
    bounds = tuple(row.bounds) if row.bounds and row.bounds[0] is not None else None
    return {"counts": {k: getattr(row, k) for k in ("under", "within", "over", "empty")}, "total": row.total,
            "bounds": bounds}


AREA_BOUNDS_SQL = text("""
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
    SELECT ST_Extent(geom) AS e FROM (
        SELECT geom FROM admin_unit WHERE code LIKE :prefix AND geom IS NOT NULL
        UNION ALL
        SELECT geom FROM grid WHERE code LIKE :prefix AND geom IS NOT NULL AND retired_at IS NULL
    ) parts
) x
""")


def area_bounds(session: Session, scope: Scope, within: str | None = None) -> Bbox | None:
    """The extent (minLon, minLat, maxLon, maxLat, WGS-84) of the caller's area, or of ``within``
    inside it: its admin units' and grids' outlines; None when nothing there has an outline."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return None
    row = session.execute(AREA_BOUNDS_SQL, {"prefix": pattern}).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def grid_detail(session: Session, scope: Scope, code: str) -> dict[str, Any]:
    scope.require(code, "grid_not_found")
    row = session.execute(_grid_select(scope, None, None).where(Grid.code == code)).first()
    if row is None:
        raise NotFound("grid_not_found", code=code)
    feature = _feature(row)
    households = _household.c
    tag = func.unnest(households.tags).label("tag")
    tags = session.execute(
        select(tag, func.count()).select_from(_household).where(households.grid_id == row.id)
        .group_by(literal_column("tag")).order_by(func.count().desc())
    ).all()
    risks = session.execute(
        select(households.risk_level, func.count())
        .where(households.grid_id == row.id, households.risk_level.isnot(None))
        .group_by(households.risk_level)
    ).all()
    people = session.scalar(select(func.coalesce(func.sum(households.size), 0)).where(households.grid_id == row.id))
    tag_counts = {t: n for t, n in tags}
    if not sees_unmasked(scope, False):
        flagged = session.scalar(select(func.count()).select_from(_household)
                                 .where(households.grid_id == row.id, shows_masked_tag(households.tags)))
        tag_counts = mask_tag_counts(tag_counts, flagged or 0)
    feature["properties"].update({
        "tag_counts": tag_counts,
        "risk_counts": {r: n for r, n in risks},
        "residents": int(people or 0),
        "area_m2": round(session.scalar(select(func.ST_Area(func.geography(Grid.geom))).where(Grid.id == row.id)) or 0, 1),
    })
    return feature


def grid_id_for(session: Session, scope: Scope, code: str) -> int:
    scope.require(code, "grid_not_found")
    grid_id = session.scalar(select(Grid.id).where(Grid.code == code))
    if grid_id is None:
        raise NotFound("grid_not_found", code=code)
    return grid_id


# gridmap_locate() (migration 0005) holds the query: as PL/pgSQL its plan is cached per
# connection, which matters for the hottest read (every check-in and report locates).
LOCATE_SQL = text("SELECT * FROM gridmap_locate(:lon, :lat, :prefix)")


def locate(session: Session, scope: Scope, lon: float, lat: float, crs: str) -> dict[str, Any]:
    """The grid covering a point and its community, street and district.

    A point on a border shared by two grids belongs to the one with the smaller
    code, the same rule as household assignment.
    """
    lon, lat = point_to_wgs84(lon, lat, crs)
    row = session.execute(LOCATE_SQL, {"lon": lon, "lat": lat, "prefix": scope.like_pattern()}).first()
    if row is None:
        raise NotFound("not_in_any_grid", details={"lon": lon, "lat": lat})

    def unit(code: str | None, name: str | None) -> dict[str, str] | None:
        return {"code": code, "name": name} if code else None

    return {
        "grid": unit(row[0], row[1]), "community": unit(row[2], row[3]),
        "street": unit(row[4], row[5]), "district": unit(row[6], row[7]),
        "lon": lon, "lat": lat,
    }


def area_label(session: Session, code: str) -> str:
    """A human name for an area code prefix: the unit's or grid's name, else the code."""
    if not code:
        return message("all_areas")
    name = session.scalar(select(AdminUnit.name).where(AdminUnit.code == code))
    if name is None:
        name = session.scalar(select(Grid.name).where(Grid.code == code))
    return name or code
