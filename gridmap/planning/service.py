"""Redrawing grid boundaries: preview, save with optimistic versions, split, merge,
versions and revert.

Every write goes through :func:`_apply`: in one transaction the changed grids get new
versions (the previous one closed with ``valid_to``), the households those grids can
affect are re-assigned (``assign_near_grids``), and the party-member contacts of the
households that moved are marked ``needs_review``. Check-ins and hazards are never
touched: they keep the grid version they were made under.

A merged-away grid is *retired*, not deleted: ``retired_at`` is set, its geometry
becomes empty (no spatial query matches it any more) and its last version is closed,
so its code is never reused and history (check-ins, hazards, versions) stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.areas import service as areas
from gridmap.auth.scope import Scope
from gridmap.coordinates import declared_crs
from gridmap.db import transaction
from gridmap.errors import Conflict, NotFound, Unprocessable
from gridmap.geo.validate import BOUNDARY_TOLERANCE_M, Problem
from gridmap.households.assignment import assign_near_grids
from gridmap.planning import topology

MOVED_CODES_CAP = 200
OVERLAP_TOLERANCE_M2 = 1.0


def _wkb(geom: Any) -> str:
    return shapely.to_wkb(geom, hex=True)


def _invalid(problem: Problem, field: str = "geometry") -> Unprocessable:
    return Unprocessable(problem.code, details={"field": field, "problems": [problem.to_dict()]}, **problem.params)


def parse_polygon(geometry: Any, crs: str | None) -> shapely.MultiPolygon:
    geom, problem = topology.polygon_from_geojson(geometry, declared_crs(crs))
    if problem is not None:
        raise _invalid(problem)
    return geom


# --- reading -------------------------------------------------------------------------

GRID_SQL = text("""
SELECT g.id, g.code, g.name, g.kind, g.version, g.community_id, g.target_min, g.target_max,
       g.retired_at, c.code AS community_code, c.name AS community_name
  FROM grid g JOIN admin_unit c ON c.id = g.community_id
 WHERE g.code = :code
""")


def _grid(session: Session, scope: Scope, code: str, *, lock: bool = False, editable: bool = True) -> Any:
    scope.require(code, "grid_not_found")
    sql = GRID_SQL.text + (" FOR UPDATE OF g" if lock else "")
    row = session.execute(text(sql), {"code": code}).first()
    if row is None:
        raise NotFound("grid_not_found", code=code)
    if editable and (row.kind != "map" or row.retired_at is not None):
        raise Unprocessable("grid_not_editable", code=code)
    return row


# Households the proposed boundary changes, set-wise on the GiST indexes:
#  moved in  = inside the new boundary, assigned elsewhere (or nowhere) now, and not covered
#              by another map grid with a smaller code (the assignment's tie-break);
#  moved out = assigned here now and outside the new boundary.
# Overlaps are measured against every other live map grid (m² on the geography); the gap
# is the community minus the union of its grids after the change.
PREVIEW_SQL = text("""
WITH g AS (SELECT CAST(:grid_id AS integer) AS id, CAST(:code AS text) AS code,
                  CAST(:community_id AS integer) AS community_id),
n AS (SELECT ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326) AS geom),
inside AS (
    SELECT h.id, h.code, h.grid_id, h.geom FROM household h, n WHERE ST_Intersects(n.geom, h.geom)
),
moved_in AS (
    SELECT i.id, i.code, i.grid_id FROM inside i, g
     WHERE (i.grid_id IS DISTINCT FROM g.id OR g.id IS NULL)
       AND NOT EXISTS (SELECT 1 FROM grid o WHERE ST_Intersects(o.geom, i.geom)
                          AND o.kind = 'map' AND o.id IS DISTINCT FROM g.id AND o.code < g.code)
),
moved_out AS (
    SELECT h.id, h.code FROM household h, g, n
     WHERE h.grid_id = g.id AND NOT ST_Intersects(n.geom, h.geom)
),
sibling_overlap AS (
    SELECT o.code, ST_Area(ST_Intersection(o.geom, n.geom)::geography) AS area_m2
      FROM grid o, n, g
     WHERE o.id IS DISTINCT FROM g.id AND o.kind = 'map' AND ST_Intersects(o.geom, n.geom)
       AND NOT ST_Touches(o.geom, n.geom)
),
community AS (
    SELECT c.geom FROM admin_unit c, g WHERE c.id = g.community_id
)
SELECT
    (SELECT count(*) FROM household h, g WHERE h.grid_id = g.id) AS households_before,
    (SELECT count(*) FROM moved_in) AS moved_in,
    (SELECT count(*) FROM moved_out) AS moved_out,
    (SELECT coalesce(array_agg(code ORDER BY code), '{}')
       FROM (SELECT code FROM moved_in ORDER BY code LIMIT :cap) s) AS moved_in_codes,
    (SELECT coalesce(array_agg(code ORDER BY code), '{}')
       FROM (SELECT code FROM moved_out ORDER BY code LIMIT :cap) s) AS moved_out_codes,
    (SELECT coalesce(json_object_agg(coalesce(o.code, ''), s.n), '{}')
       FROM (SELECT grid_id, count(*) AS n FROM moved_in GROUP BY grid_id) s
       LEFT JOIN grid o ON o.id = s.grid_id) AS moved_in_from,
    (SELECT coalesce(json_agg(json_build_object('code', code, 'area_m2', round(area_m2::numeric, 1))
                              ORDER BY code), '[]')
       FROM sibling_overlap WHERE area_m2 > 0.01) AS overlap_list,
    (SELECT ST_Area(ST_Difference(n.geom, community.geom)::geography) FROM community, n) AS outside_community_m2,
    (SELECT ST_CoveredBy(n.geom, ST_Buffer(community.geom::geography, :tolerance)::geometry)
       FROM community, n) AS within_community,
    (SELECT ST_Area(ST_Difference(
                community.geom,
                ST_Union(n.geom, coalesce((SELECT ST_Union(o.geom) FROM grid o, g
                                            WHERE o.community_id = g.community_id AND o.id IS DISTINCT FROM g.id
                                              AND o.kind = 'map' AND o.retired_at IS NULL),
                                           'SRID=4326;POLYGON EMPTY'::geometry)))::geography)
       FROM community, n) AS gap_area_m2,
    (SELECT ST_Area(n.geom::geography) FROM n) AS area_m2
""")

COMMUNITY_COUNTS_SQL = text("""
SELECT o.code, o.target_min, o.target_max, count(h.id) AS households
  FROM grid o LEFT JOIN household h ON h.grid_id = o.id
 WHERE o.community_id = :community_id AND o.retired_at IS NULL
 GROUP BY o.id ORDER BY o.code
""")


def _preview(session: Session, grid: Any, geom: shapely.MultiPolygon) -> dict[str, Any]:
    row = session.execute(PREVIEW_SQL, {"grid_id": grid.id, "code": grid.code, "community_id": grid.community_id,
                                        "wkb": _wkb(geom), "cap": MOVED_CODES_CAP,
                                        "tolerance": BOUNDARY_TOLERANCE_M}).one()
    after = row.households_before + row.moved_in - row.moved_out
    moved_in_from = dict(row.moved_in_from or {})
    grids = []
    for other in session.execute(COMMUNITY_COUNTS_SQL, {"community_id": grid.community_id}):
        count = after if other.code == grid.code else other.households - moved_in_from.get(other.code, 0)
        grids.append({"code": other.code, "households": count, "target_min": other.target_min,
                      "target_max": other.target_max,
                      "within_target": other.target_min <= count <= other.target_max})
    if grid.id is None:  # a grid not drawn yet: it joins the community's list
        grids.append({"code": grid.code, "households": after, "target_min": grid.target_min,
                      "target_max": grid.target_max, "within_target": grid.target_min <= after <= grid.target_max,
                      "new": True})
    overlaps = list(row.overlap_list or [])
    return {
        "code": grid.code,
        "version": grid.version,
        "households_before": row.households_before,
        "households_after": after,
        "moved_in": row.moved_in,
        "moved_out": row.moved_out,
        "moved_in_codes": list(row.moved_in_codes),
        "moved_out_codes": list(row.moved_out_codes),
        "moved_in_from": {k or "unassigned": v for k, v in moved_in_from.items()},
        "overlaps": overlaps,
        "overlap_area_m2": round(sum(float(o["area_m2"]) for o in overlaps), 1),
        "gap_area_m2": round(float(row.gap_area_m2 or 0), 1),
        "outside_community_m2": round(float(row.outside_community_m2 or 0), 1),
        "within_community": bool(row.within_community),
        "area_m2": round(float(row.area_m2 or 0), 1),
        "target_min": grid.target_min,
        "target_max": grid.target_max,
        "within_target": grid.target_min <= after <= grid.target_max,
        "grids": grids,
    }


def preview(session: Session, scope: Scope, code: str, geometry: Any, crs: str | None) -> dict[str, Any]:
    """What saving ``geometry`` as grid ``code`` would do; writes nothing."""
    grid = _grid(session, scope, code)
    geom = parse_polygon(geometry, crs)
    result = _preview(session, grid, geom)
    session.rollback()  # a read: release the snapshot, never leave anything behind
    return result


# --- writing -------------------------------------------------------------------------


def _check_rules(preview_result: dict[str, Any], force: bool) -> None:
    if not preview_result["within_community"]:
        raise Unprocessable("grid_outside_community", details={"outside_community_m2":
                                                               preview_result["outside_community_m2"]},
                            area_m2=preview_result["outside_community_m2"])
    big = [o for o in preview_result["overlaps"] if float(o["area_m2"]) > OVERLAP_TOLERANCE_M2]
    if big and not force:
        area = round(sum(float(o["area_m2"]) for o in big), 1)
        raise Unprocessable("grid_overlaps_sibling", details={"overlaps": big},
                            codes="、".join(o["code"] for o in big), area_m2=area)


@dataclass
class Change:
    grid_id: int
    geom: Any  # WGS-84 MultiPolygon; None retires the grid


SNAPSHOT_SQL = """
CREATE TEMP TABLE IF NOT EXISTS planning_before (id bigint PRIMARY KEY, grid_id int) ON COMMIT DROP;
TRUNCATE planning_before;
INSERT INTO planning_before (id, grid_id)
SELECT h.id, h.grid_id FROM household h
 WHERE h.grid_id = ANY(:grid_ids)
    OR EXISTS (SELECT 1 FROM grid_version v WHERE v.grid_id = ANY(:grid_ids) AND ST_Intersects(v.geom, h.geom));
"""

REVIEW_SQL = text("""
WITH moved AS (
    SELECT b.id FROM planning_before b JOIN household h ON h.id = b.id
     WHERE h.grid_id IS DISTINCT FROM b.grid_id
), marked AS (
    UPDATE party_contact pc SET needs_review = true FROM moved m WHERE pc.household_id = m.id
    RETURNING pc.household_id
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM marked)
""")

WRITE_VERSION_SQL = text("""
WITH updated AS (
    UPDATE grid SET geom = ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326),
                    version = version + 1, updated_at = now()
     WHERE id = :grid_id
    RETURNING id, version, geom
), closed AS (
    UPDATE grid_version v SET valid_to = greatest(now(), v.valid_from)
      FROM updated u WHERE v.grid_id = u.id AND v.valid_to IS NULL
)
INSERT INTO grid_version (grid_id, version, geom, valid_from, changed_by, reason)
SELECT id, version, geom, now(), :user_id, :reason FROM updated
RETURNING version
""")

RETIRE_SQL = text("""
WITH retired AS (
    UPDATE grid SET geom = 'SRID=4326;MULTIPOLYGON EMPTY'::geometry, retired_at = now(), updated_at = now()
     WHERE id = :grid_id RETURNING id
)
UPDATE grid_version v SET valid_to = greatest(now(), v.valid_from)
  FROM retired r WHERE v.grid_id = r.id AND v.valid_to IS NULL
""")


def _apply(session: Session, changes: list[Change], reason: str, user_id: int | None) -> dict[str, Any]:
    """Write ``changes`` (inside the caller's transaction) and move the households."""
    versions: dict[int, int] = {}
    for change in changes:
        if change.geom is None:
            session.execute(RETIRE_SQL, {"grid_id": change.grid_id})
        else:
            versions[change.grid_id] = session.execute(WRITE_VERSION_SQL, {
                "grid_id": change.grid_id, "wkb": _wkb(change.geom), "user_id": user_id, "reason": reason,
            }).scalar_one()
    grid_ids = [c.grid_id for c in changes]
    session.execute(text(SNAPSHOT_SQL), {"grid_ids": grid_ids})
    assigned = assign_near_grids(session, grid_ids)
    moved, review = session.execute(REVIEW_SQL).one()
    return {"versions": versions, "households": assigned.as_dict(), "moved": int(moved),
            "contacts_marked_for_review": int(review)}


def _stale(session: Session, grid: Any, expected: int) -> Conflict:
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


def _grid_result(session: Session, grid_id: int) -> dict[str, Any]:
    row = session.execute(text("""
        SELECT g.code, g.name, g.version, ST_AsGeoJSON(g.geom, 7)::json AS geometry,
               (SELECT count(*) FROM household h WHERE h.grid_id = g.id) AS households
          FROM grid g WHERE g.id = :id"""), {"id": grid_id}).one()
    return {"code": row.code, "name": row.name, "version": row.version, "households": row.households,
            "geometry": row.geometry}


def _require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Unprocessable("grid_reason_required", details={"field": "reason"})
    return reason


def save_geometry(session: Session, scope: Scope, code: str, geometry: Any, crs: str | None, version: int,
                  reason: str | None, force: bool = False) -> dict[str, Any]:
    """Save a new boundary for grid ``code`` if ``version`` is still current (else 409)."""
    reason = _require_reason(reason)
    geom = parse_polygon(geometry, crs)
    with transaction(session):
        # The row lock decides between concurrent saves: the second waits, then sees the
        # first one's version and gets its 409.
        grid = _grid(session, scope, code, lock=True)
        if grid.version != version:
            raise _stale(session, grid, version)
        check = _preview(session, grid, geom)
        _check_rules(check, force)
        outcome = _apply(session, [Change(grid.id, geom)], reason, scope.user_id)
        result = _grid_result(session, grid.id)
    result.update(previous_version=version, households_moved=outcome["moved"],
                  contacts_marked_for_review=outcome["contacts_marked_for_review"],
                  forced=bool(force and check["overlaps"]), overlaps=check["overlaps"],
                  gap_area_m2=check["gap_area_m2"])
    return result


# --- split and merge -----------------------------------------------------------------

NEXT_CODE_SQL = text("""
SELECT coalesce(max(substr(code, 13, 3)::int), 0) + 1
  FROM grid WHERE code LIKE :prefix AND length(code) = 15
""")


def _next_code(session: Session, community_code: str) -> str:
    # Lock the community row: two splits in one community must not pick the same code.
    session.execute(text("SELECT id FROM admin_unit WHERE code = :c FOR UPDATE"), {"c": community_code})
    number = session.execute(NEXT_CODE_SQL, {"prefix": community_code + "___"}).scalar_one()
    if number > 999:
        raise Unprocessable("grid_codes_exhausted", code=community_code)
    return f"{community_code}{number:03d}"


def split(session: Session, scope: Scope, code: str, line: Any, crs: str | None, reason: str | None,
          version: int | None = None) -> dict[str, Any]:
    """Cut grid ``code`` along ``line``: the larger piece keeps the code, the other gets the
    community's next free 3-digit code."""
    reason = _require_reason(reason or "分割网格")
    cutter, problem = topology.line_from_geojson(line, declared_crs(crs))
    if problem is not None:
        raise _invalid(problem, "line")
    with transaction(session):
        grid = _grid(session, scope, code, lock=True)
        if version is not None and grid.version != version:
            raise _stale(session, grid, version)
        current = shapely.from_wkb(bytes(session.execute(
            text("SELECT ST_AsBinary(geom) FROM grid WHERE id = :id"), {"id": grid.id}).scalar_one()))
        pieces = topology.split_by_line(current, cutter)
        if len(pieces) != 2:
            raise Unprocessable("grid_split_line_invalid", details={"parts": len(pieces)}, parts=len(pieces))
        new_code = _next_code(session, grid.community_code)
        number = int(new_code[-3:])
        new_id = session.execute(text("""
            INSERT INTO grid (code, name, community_id, kind, geom, version, target_min, target_max)
            VALUES (:code, :name, :community_id, 'map', ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326), 0,
                    :tmin, :tmax)
            RETURNING id"""), {
            "code": new_code, "name": f"{grid.community_name}第{number}网格", "community_id": grid.community_id,
            "wkb": _wkb(pieces[1]), "tmin": grid.target_min, "tmax": grid.target_max,
        }).scalar_one()
        _apply(session, [Change(grid.id, pieces[0]), Change(new_id, pieces[1])], reason, scope.user_id)
        result = {"grids": [_grid_result(session, grid.id), _grid_result(session, new_id)]}
    return result


def merge(session: Session, scope: Scope, codes: list[str], reason: str | None) -> dict[str, Any]:
    """Merge adjacent grids of one community into the one with the smallest code; the
    others are retired (kept with their versions, never reused)."""
    reason = _require_reason(reason or "合并网格")
    codes = sorted(set(codes))
    if len(codes) < 2:
        raise Unprocessable("grid_merge_needs_two")
    with transaction(session):
        grids = [_grid(session, scope, c, lock=True) for c in codes]
        if len({g.community_id for g in grids}) != 1:
            raise Unprocessable("grid_merge_not_adjacent", details={"codes": codes})
        union_hex = session.execute(text("""
            SELECT ST_AsBinary(ST_UnaryUnion(ST_Collect(geom))) FROM grid WHERE id = ANY(:ids)"""),
            {"ids": [g.id for g in grids]}).scalar_one()
        union = shapely.from_wkb(bytes(union_hex))
        if union.geom_type != "Polygon":
            raise Unprocessable("grid_merge_not_adjacent", details={"codes": codes})
        survivor = grids[0]
        changes = [Change(survivor.id, topology.as_multipolygon(union))]
        changes += [Change(g.id, None) for g in grids[1:]]
        _apply(session, changes, reason, scope.user_id)
        result = _grid_result(session, survivor.id)
    result["retired"] = codes[1:]
    return result


# --- a new grid ----------------------------------------------------------------------

COMMUNITY_SQL = text("""
SELECT id, code, name, geom IS NOT NULL AS has_boundary FROM admin_unit WHERE code = :code AND level = 'community'
""")


@dataclass
class NewGrid:
    """A grid not written yet, shaped like a GRID_SQL row for :func:`_preview`."""
    code: str
    name: str
    community_id: int
    community_code: str
    community_name: str
    id: int | None = None
    version: int = 0
    target_min: int = 300
    target_max: int = 500


def _new_grid(session: Session, scope: Scope, community_code: str, name: str | None, *, lock: bool) -> NewGrid:
    scope.require(community_code, "area_not_found")
    community = session.execute(COMMUNITY_SQL, {"code": community_code}).first()
    if community is None:
        raise NotFound("area_not_found", code=community_code)
    if not community.has_boundary:
        raise Unprocessable("grid_community_no_boundary", code=community_code)
    if lock:
        code = _next_code(session, community.code)
    else:
        number = session.execute(NEXT_CODE_SQL, {"prefix": community.code + "___"}).scalar_one()
        if number > 999:
            raise Unprocessable("grid_codes_exhausted", code=community.code)
        code = f"{community.code}{number:03d}"
    name = (name or "").strip() or f"{community.name}第{int(code[-3:])}网格"
    return NewGrid(code=code, name=name, community_id=community.id, community_code=community.code,
                   community_name=community.name)


def preview_new(session: Session, scope: Scope, community_code: str, geometry: Any,
                crs: str | None) -> dict[str, Any]:
    """What drawing ``geometry`` as a new grid of the community would do; writes nothing.
    ``code`` is the code it would get; ``moved_in_from`` says from which grids."""
    grid = _new_grid(session, scope, community_code, None, lock=False)
    geom = parse_polygon(geometry, crs)
    result = _preview(session, grid, geom)
    session.rollback()
    result["name"] = grid.name
    return result


def create_grid(session: Session, scope: Scope, community_code: str, geometry: Any, crs: str | None,
                name: str | None, reason: str | None, force: bool = False) -> dict[str, Any]:
    """A new map grid of the community, with the next free code and version 1; the
    households it takes are re-assigned in the same transaction. Same rules as a save."""
    reason = _require_reason(reason)
    geom = parse_polygon(geometry, crs)
    with transaction(session):
        grid = _new_grid(session, scope, community_code, name, lock=True)  # locks the community row
        check = _preview(session, grid, geom)
        _check_rules(check, force)
        grid.id = session.execute(text("""
            INSERT INTO grid (code, name, community_id, kind, geom, version, target_min, target_max)
            VALUES (:code, :name, :community_id, 'map', ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326), 0,
                    :tmin, :tmax)
            RETURNING id"""), {"code": grid.code, "name": grid.name, "community_id": grid.community_id,
                               "wkb": _wkb(geom), "tmin": grid.target_min, "tmax": grid.target_max}).scalar_one()
        outcome = _apply(session, [Change(grid.id, geom)], reason, scope.user_id)
        result = _grid_result(session, grid.id)
    result.update(community_code=grid.community_code, households_moved=outcome["moved"],
                  moved_in_from=check["moved_in_from"],
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
    grid = _grid(session, scope, code, editable=False)
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
    reason = _require_reason(reason or f"恢复到第 {to_version} 版")
    with transaction(session):
        grid = _grid(session, scope, code, lock=True)
        if version is not None and grid.version != version:
            raise _stale(session, grid, version)
        old = session.execute(text("SELECT ST_AsBinary(geom) FROM grid_version WHERE grid_id = :id AND version = :v"),
                              {"id": grid.id, "v": to_version}).scalar()
        if old is None:
            raise NotFound("grid_version_not_found", code=code, version=to_version)
        geom = topology.as_multipolygon(shapely.from_wkb(bytes(old)))
        check = _preview(session, grid, geom)
        _check_rules(check, force)
        outcome = _apply(session, [Change(grid.id, geom)], reason, scope.user_id)
        result = _grid_result(session, grid.id)
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
