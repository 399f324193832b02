"""Redrawing a grid's boundary: preview, save with optimistic versions, versions and revert,
and what the boundary editor shows. Who moves is ``gridmap.planning.moves``; split, merge
and new grids are ``gridmap.planning.reshape``.
"""

from __future__ import annotations

from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.areas import service as areas
from gridmap.auth.scope import Scope
from gridmap.coordinates import declared_crs
from gridmap.db import transaction
from gridmap.errors import Conflict, NotFound, Unprocessable
from gridmap.geo.validate import Problem
from gridmap.messages import message
from gridmap.planning import moves, topology
from gridmap.planning.moves import Change


def invalid(problem: Problem, field: str = "geometry") -> Unprocessable:
    return Unprocessable(problem.code, details={"field": field, "problems": [problem.to_dict()]}, **problem.params)


def parse_polygon(geometry: Any, crs: str | None) -> shapely.MultiPolygon:
    geom, problem = topology.polygon_from_geojson(geometry, declared_crs(crs))
    if problem is not None:
        raise invalid(problem)
    return geom


# --- reading -------------------------------------------------------------------------

GRID_SQL = text("""
SELECT g.id, g.code, g.name, g.kind, g.version, g.community_id, g.target_min, g.target_max,
       g.retired_at, c.code AS community_code, c.name AS community_name
  FROM grid g JOIN admin_unit c ON c.id = g.community_id
 WHERE g.code = :code
""")


def grid_row(session: Session, scope: Scope, code: str, *, lock: bool = False, editable: bool = True) -> Any:
    scope.require(code, "grid_not_found")
    sql = GRID_SQL.text + (" FOR UPDATE OF g" if lock else "")
    row = session.execute(text(sql), {"code": code}).first()
    if row is None:
        raise NotFound("grid_not_found", code=code)
    if editable and (row.kind != "map" or row.retired_at is not None):
        raise Unprocessable("grid_not_editable", code=code)
    return row


def preview(session: Session, scope: Scope, code: str, geometry: Any, crs: str | None) -> dict[str, Any]:
    """What saving ``geometry`` as grid ``code`` would do; writes nothing."""
    grid = grid_row(session, scope, code)
    geom = parse_polygon(geometry, crs)
    result = moves.measure(session, grid, geom)
    session.rollback()  # a read: release the snapshot, never leave anything behind
    return result


def stale_conflict(session: Session, grid: Any, expected: int) -> Conflict:
    """409 with the change that won, so the planner can compare it with their own."""
    other = session.execute(text("""
        SELECT v.version, v.valid_from, v.reason, u.username, ST_AsGeoJSON(v.geom, 7)::json AS geometry
          FROM grid_version v LEFT JOIN app_user u ON u.id = v.changed_by
         WHERE v.grid_id = :grid_id ORDER BY v.version DESC LIMIT 1"""), {"grid_id": grid.id}).first()
    details: dict[str, Any] = {"code": grid.code, "expected_version": expected, "current_version": grid.version}
    if other is not None:
        details["current"] = {"version": other.version, "changed_at": other.valid_from.isoformat(),
                              "changed_by": other.username, "reason": other.reason, "geometry": other.geometry}
    return Conflict("grid_version_stale", details=details, code=grid.code, current=grid.version)


def grid_result(session: Session, grid_id: int) -> dict[str, Any]:
    row = session.execute(text("""
        SELECT g.code, g.name, g.version, ST_AsGeoJSON(g.geom, 7)::json AS geometry,
               (SELECT count(*) FROM household h WHERE h.grid_id = g.id) AS households
          FROM grid g WHERE g.id = :id"""), {"id": grid_id}).one()
    return {"code": row.code, "name": row.name, "version": row.version, "households": row.households,
            "geometry": row.geometry}


def require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Unprocessable("grid_reason_required", details={"field": "reason"})
    return reason


def save_geometry(session: Session, scope: Scope, code: str, geometry: Any, crs: str | None, version: int,
                  reason: str | None, force: bool = False) -> dict[str, Any]:
    """Save a new boundary for grid ``code`` if ``version`` is still current (else 409)."""
    reason = require_reason(reason)
    geom = parse_polygon(geometry, crs)
    with transaction(session):
        # The row lock decides between concurrent saves: the second waits, then sees the
        # first one's version and gets its 409.
        grid = grid_row(session, scope, code, lock=True)
        if grid.version != version:
            raise stale_conflict(session, grid, version)
        check = moves.measure(session, grid, geom)
        moves.check_rules(check, force)
        outcome = moves.apply_changes(session, [Change(grid.id, geom)], reason, scope.user_id)
        result = grid_result(session, grid.id)
    result.update(previous_version=version, households_moved=outcome["moved"],
                  contacts_marked_for_review=outcome["contacts_marked_for_review"],
                  forced=bool(force and check["overlaps"]), overlaps=check["overlaps"],
                  gap_area_m2=check["gap_area_m2"])
    return result


# --- versions ------------------------------------------------------------------------

VERSIONS_SQL = text("""
SELECT v.version, v.valid_from, v.valid_to, v.reason, u.username AS changed_by,
       ST_Area(v.geom::geography) AS area_m2,
       (SELECT count(*) FROM household h WHERE ST_Intersects(v.geom, h.geom)) AS households_now,
       ST_AsGeoJSON(v.geom, 7)::json AS geometry
  FROM grid_version v LEFT JOIN app_user u ON u.id = v.changed_by
 WHERE v.grid_id = :grid_id
 ORDER BY v.version DESC
""")


def versions(session: Session, scope: Scope, code: str, with_geometry: bool = False) -> dict[str, Any]:
    """Every boundary the grid has had, newest first, with its area and how many of
    today's households it would hold (to compare versions)."""
    grid = grid_row(session, scope, code, editable=False)
    items = []
    previous: dict[str, Any] | None = None
    rows = session.execute(VERSIONS_SQL, {"grid_id": grid.id}).all()
    for row in reversed(rows):
        item = {
            "version": row.version, "valid_from": row.valid_from.isoformat(),
            "valid_to": row.valid_to.isoformat() if row.valid_to else None,
            "current": row.valid_to is None and grid.retired_at is None,
            "changed_by": row.changed_by, "reason": row.reason,
            "area_m2": round(float(row.area_m2 or 0), 1), "households_now": row.households_now,
        }
        if previous is not None:
            item["area_change_m2"] = round(item["area_m2"] - previous["area_m2"], 1)
            item["households_change"] = item["households_now"] - previous["households_now"]
        if with_geometry:
            item["geometry"] = row.geometry
        items.append(item)
        previous = item
    items.reverse()
    return {"code": grid.code, "version": grid.version, "retired": grid.retired_at is not None,
            "items": items, "total": len(items)}


def revert(session: Session, scope: Scope, code: str, to_version: int, reason: str | None,
           version: int | None = None, force: bool = False) -> dict[str, Any]:
    """A new version whose boundary equals version ``to_version``'s."""
    reason = require_reason(reason or message("planning_reason_revert", version=to_version))
    with transaction(session):
        grid = grid_row(session, scope, code, lock=True)
        if version is not None and grid.version != version:
            raise stale_conflict(session, grid, version)
        old = session.execute(text("SELECT ST_AsBinary(geom) FROM grid_version WHERE grid_id = :id AND version = :v"),
                              {"id": grid.id, "v": to_version}).scalar()
        if old is None:
            raise NotFound("grid_version_not_found", code=code, version=to_version)
        geom = topology.as_multipolygon(shapely.from_wkb(bytes(old)))
        check = moves.measure(session, grid, geom)
        moves.check_rules(check, force)
        outcome = moves.apply_changes(session, [Change(grid.id, geom)], reason, scope.user_id)
        result = grid_result(session, grid.id)
    result.update(reverted_to=to_version, households_moved=outcome["moved"],
                  contacts_marked_for_review=outcome["contacts_marked_for_review"])
    return result


EDITOR_COMMUNITY_SQL = text("""
SELECT id, code, name, ST_AsGeoJSON(geom, 7)::json AS geometry, ST_AsGeoJSON(ST_Boundary(geom), 7)::json AS outline,
       ST_XMin(geom) AS w, ST_YMin(geom) AS s, ST_XMax(geom) AS e, ST_YMax(geom) AS n
  FROM admin_unit WHERE code = :code AND level = 'community'
""")

# Households as [lon, lat, code]: codes only, never names or phones.
EDITOR_HOUSEHOLDS_SQL = text("""
SELECT coalesce(json_agg(json_build_array(round(ST_X(h.geom)::numeric, 7), round(ST_Y(h.geom)::numeric, 7), h.code)),
                '[]')
  FROM household h JOIN admin_unit c ON ST_Intersects(c.geom, h.geom) WHERE c.id = :id
""")


def editor_data(session: Session, scope: Scope, code: str) -> dict[str, Any]:
    """What the boundary editor shows: the community, its grids and its households'
    points (codes only, never names or phones). 404 for a code that is not a community
    with a boundary, or outside the caller's area."""
    scope.require(code, "area_not_found")
    community = session.execute(EDITOR_COMMUNITY_SQL, {"code": code}).first()
    if community is None or community.geometry is None:
        raise NotFound("area_not_found", code=code)
    return {
        "community": {"code": community.code, "name": community.name, "geometry": community.geometry},
        "outline": community.outline,
        "bounds": [[community.s, community.w], [community.n, community.e]],
        "grids": areas.list_grids(session, scope, code, None, limit=1000, offset=0),
        "households": session.execute(EDITOR_HOUSEHOLDS_SQL, {"id": community.id}).scalar_one(),
    }


STREET_DIGITS = 9  # a community's code starts with its street's


def street_of(community_code: str) -> str:
    return community_code[:STREET_DIGITS]


def neighbour_grids(session: Session, scope: Scope, code: str, limit: int) -> dict[str, Any]:
    """The grids of the community's street outside the community (read-only context around the
    edited grids), within the caller's area; at most ``limit``."""
    grids = areas.list_grids(session, scope, street_of(code), None, limit=limit, offset=0)
    features = [g for g in grids["features"] if not g["properties"]["code"].startswith(code)]
    return {"type": "FeatureCollection", "features": features, "total": len(features)}
