"""Proposed partitions of a community (or each community of a street) into grids of
``target_min``–``target_max`` households, and accepting one as a single atomic change.

The algorithm (gridmap.planning.topology.partition): k = households / middle of the range
(adjusted so every group fits); recursive bisection of the households by count along the
longer axis (a k-d split), so groups are contiguous and sizes differ by at most one; each
grid is the union of its members' Voronoi cells, clipped to the community boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.coordinates import declared_crs
from gridmap.db import transaction
from gridmap.errors import NotFound, Unprocessable
from gridmap.geo.validate import BOUNDARY_TOLERANCE_M
from gridmap.messages import message
from gridmap.planning import moves, topology
from gridmap.planning.reshape import default_grid_name, next_code

COMMUNITIES_SQL = text("""
SELECT id, code, name, ST_AsBinary(geom) AS wkb FROM admin_unit
 WHERE level = 'community' AND code LIKE :prefix ORDER BY code
""")

HOUSEHOLDS_SQL = text("""
SELECT array_agg(ST_X(h.geom)) AS lon, array_agg(ST_Y(h.geom)) AS lat
  FROM household h JOIN admin_unit c ON ST_Intersects(c.geom, h.geom)
 WHERE c.id = :community_id AND h.status = 'active'  -- moved-out households have no grid
""")


def _communities(session: Session, scope: Scope, within: str) -> list[Any]:
    scope.require(within, "area_not_found")
    if len(within) not in (9, 12):
        raise Unprocessable("proposal_not_community", code=within)
    rows = session.execute(COMMUNITIES_SQL, {"prefix": within + "%"}).all()
    if not rows:
        raise NotFound("area_not_found", code=within)
    return rows


def _check_targets(target_min: int, target_max: int) -> None:
    if not 0 < target_min <= target_max:
        raise Unprocessable("proposal_targets_invalid")


def propose(session: Session, scope: Scope, within: str, target_min: int = 300,
            target_max: int = 500) -> dict[str, Any]:
    """A FeatureCollection of proposed grids; nothing is written."""
    _check_targets(target_min, target_max)
    features: list[dict[str, Any]] = []
    households_total = 0
    for community in _communities(session, scope, within):
        if community.wkb is None:
            raise Unprocessable("proposal_no_boundary", code=community.code)
        row = session.execute(HOUSEHOLDS_SQL, {"community_id": community.id}).one()
        if not row.lon:
            continue
        lon, lat = np.asarray(row.lon, dtype=float), np.asarray(row.lat, dtype=float)
        households_total += len(lon)
        boundary = shapely.from_wkb(bytes(community.wkb))
        result = topology.partition(lon, lat, boundary, target_min, target_max)
        for i, (geom, count, compact) in enumerate(zip(result["geoms"], result["counts"], result["compactness"])):
            features.append({
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {
                    "community_code": community.code, "community_name": community.name, "index": i + 1,
                    "households": int(count), "compactness": compact,
                    "within_target": target_min <= count <= target_max,
                    "target_min": target_min, "target_max": target_max,
                },
            })
    session.rollback()
    if households_total == 0:
        raise Unprocessable("proposal_no_households")
    return {"type": "FeatureCollection", "features": features, "total": len(features),
            "within_target": sum(f["properties"]["within_target"] for f in features)}


FEATURES_CTE = """
WITH f AS (
    SELECT t.i::int AS i, t.cid AS community_id, ST_SetSRID(ST_GeomFromWKB(decode(t.w, 'hex')), 4326) AS geom
      FROM unnest(CAST(:wkbs AS text[]), CAST(:cids AS int[])) WITH ORDINALITY AS t(w, cid, i)
)"""

# Per feature: households it would hold (a household in several features goes to the first,
# as the assignment gives it to the smallest code), whether it lies in its community (1 m
# tolerance) and by how much it leaves it, and Polsby–Popper on the geography.
FEATURE_CHECK_SQL = text(FEATURES_CTE + """,
covering AS (
    SELECT DISTINCT ON (h.id) h.id, f.i
      FROM f CROSS JOIN LATERAL (SELECT h.id FROM household h WHERE ST_Intersects(f.geom, h.geom) AND h.status = 'active'
                                   OFFSET 0) h
     ORDER BY h.id, f.i
), counts AS (SELECT i, count(*) AS n FROM covering GROUP BY i)
SELECT f.i, coalesce(counts.n, 0) AS households,
       ST_CoveredBy(f.geom, ST_Buffer(c.geom::geography, :tolerance)::geometry) AS within_community,
       ST_Area(ST_Difference(f.geom, c.geom)::geography) AS outside_m2,
       ST_Area(f.geom::geography) AS area_m2, ST_Perimeter(f.geom::geography) AS perimeter_m,
       (SELECT count(*) FROM household h JOIN admin_unit u ON ST_Intersects(u.geom, h.geom)
         WHERE u.id = ANY(CAST(:cids AS int[])) AND h.status = 'active'
           AND NOT EXISTS (SELECT 1 FROM covering v WHERE v.id = h.id))
           AS uncovered
  FROM f JOIN admin_unit c ON c.id = f.community_id LEFT JOIN counts ON counts.i = f.i
 ORDER BY f.i
""")

# Pairs of features that share more than an edge, with the shared area in m².
FEATURE_OVERLAP_SQL = text(FEATURES_CTE + """
SELECT a.i AS a, b.i AS b, ST_Area(ST_Intersection(a.geom, b.geom)::geography) AS area_m2
  FROM f a JOIN f b ON a.i < b.i AND ST_Intersects(a.geom, b.geom) AND NOT ST_Touches(a.geom, b.geom)
 ORDER BY a.i, b.i
""")


def _parse_features(within: str, communities: dict[str, Any], features: list[dict[str, Any]],
                    crs: str | None) -> list[tuple[str, Any]]:
    """(community code, WGS-84 MultiPolygon) per feature, in order; 422 names the bad feature."""
    crs = declared_crs(crs)
    parsed: list[tuple[str, Any]] = []
    for number, feature in enumerate(features, start=1):
        feature = feature if isinstance(feature, dict) else {}
        props = feature.get("properties") or {}
        code = props.get("community_code") if isinstance(props, dict) else None
        code = code or (within if len(within) == 12 else None)
        if code not in communities:
            raise Unprocessable("unknown_parent", details={"feature": number, "parent": code}, parent=code)
        geom, problem = topology.polygon_from_geojson(feature.get("geometry"), crs)
        if problem is not None:
            raise Unprocessable(problem.code, details={"feature": number, "problems": [problem.to_dict()]},
                                **problem.params)
        parsed.append((code, geom))
    return parsed


def _check_features(session: Session, communities: dict[str, Any], parsed: list[tuple[str, Any]]
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Per-feature figures, the overlapping pairs (> 1 m²) and households no feature covers."""
    params = {"wkbs": [moves.wkb(g) for _, g in parsed], "cids": [communities[c].id for c, _ in parsed]}
    rows = session.execute(FEATURE_CHECK_SQL, {**params, "tolerance": BOUNDARY_TOLERANCE_M}).all()
    checks = []
    for row in rows:
        perimeter = float(row.perimeter_m or 0)
        compact = 4 * np.pi * float(row.area_m2 or 0) / perimeter ** 2 if perimeter > 0 else 0.0
        checks.append({"feature": row.i, "households": int(row.households),
                       "within_community": bool(row.within_community),
                       "outside_community_m2": round(float(row.outside_m2 or 0), 1),
                       "area_m2": round(float(row.area_m2 or 0), 1), "compactness": round(compact, 3)})
    overlaps = [{"features": [r.a, r.b], "area_m2": round(float(r.area_m2), 1)}
                for r in session.execute(FEATURE_OVERLAP_SQL, params)
                if float(r.area_m2) > moves.OVERLAP_TOLERANCE_M2]
    return checks, overlaps, int(rows[0].uncovered) if rows else 0


def preview_proposal(session: Session, scope: Scope, within: str, features: list[dict[str, Any]],
                     crs: str | None, target_min: int = 300, target_max: int = 500) -> dict[str, Any]:
    """Re-count an adjusted proposal: households and Polsby–Popper per feature, overlaps
    between features, parts outside the community; nothing is written."""
    _check_targets(target_min, target_max)
    communities = {c.code: c for c in _communities(session, scope, within)}
    parsed = _parse_features(within, communities, features, crs)
    checks, overlaps, uncovered = _check_features(session, communities, parsed)
    session.rollback()
    out = []
    for (code, geom), check in zip(parsed, checks):
        n = check["households"]
        out.append({"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": {
            "community_code": code, "community_name": communities[code].name, "index": check["feature"],
            **{k: v for k, v in check.items() if k != "feature"},
            "within_target": target_min <= n <= target_max, "target_min": target_min, "target_max": target_max}})
    return {"type": "FeatureCollection", "features": out, "total": len(out),
            "within_target": sum(f["properties"]["within_target"] for f in out),
            "overlaps": overlaps, "households_uncovered": uncovered,
            "acceptable": not overlaps and all(c["within_community"] for c in checks)}


def _refuse_bad_features(checks: list[dict[str, Any]], overlaps: list[dict[str, Any]]) -> None:
    outside = [{"feature": c["feature"], "outside_community_m2": c["outside_community_m2"]}
               for c in checks if not c["within_community"]]
    if outside:
        raise Unprocessable("grid_outside_community", details={"features": outside},
                            area_m2=round(sum(o["outside_community_m2"] for o in outside), 1))
    if overlaps:
        pairs = "；".join(message("proposal_overlap_pair", first=o["features"][0], second=o["features"][1],
                                 area_m2=o["area_m2"]) for o in overlaps[:10])
        raise Unprocessable("proposal_features_overlap", details={"overlaps": overlaps}, pairs=pairs)


def accept(session: Session, scope: Scope, within: str, features: list[dict[str, Any]], crs: str | None,
           reason: str | None) -> dict[str, Any]:
    """Replace each community's grids by the accepted features, in one transaction.

    A community's existing grids are reused in code order (each gets a new version), extra
    features get the next free codes, and grids left over are retired. Features outside
    their community or overlapping each other (> 1 m²) refuse the whole set.
    """
    reason = (reason or "").strip() or message("planning_reason_accept")
    communities = {c.code: c for c in _communities(session, scope, within)}
    parsed = _parse_features(within, communities, features, crs)
    by_community: dict[str, list[Any]] = {}
    for code, geom in parsed:
        by_community.setdefault(code, []).append(geom)

    written: list[int] = []
    with transaction(session):
        checks, overlaps, _ = _check_features(session, communities, parsed)
        _refuse_bad_features(checks, overlaps)
        for code, geoms in by_community.items():
            community = communities[code]
            existing = session.execute(text("""
                SELECT id, code FROM grid WHERE community_id = :id AND kind = 'map' AND retired_at IS NULL
                 ORDER BY code FOR UPDATE"""), {"id": community.id}).all()
            changes = []
            for i, geom in enumerate(geoms):
                if i < len(existing):
                    grid_id = existing[i].id
                else:
                    new_code = next_code(session, code)
                    grid_id = session.execute(text("""
                        INSERT INTO grid (code, name, community_id, kind, geom, version)
                        VALUES (:code, :name, :cid, 'map', ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326), 0)
                        RETURNING id"""), {"code": new_code, "name": default_grid_name(community.name, new_code),
                                           "cid": community.id, "wkb": moves.wkb(geom)}).scalar_one()
                changes.append(moves.Change(grid_id, geom))
                written.append(grid_id)
            changes += [moves.Change(g.id, None) for g in existing[len(geoms):]]
            moves.apply_changes(session, changes, reason, scope.user_id)
        rows = session.execute(text("""
            SELECT g.code, g.name, g.version, ST_AsGeoJSON(g.geom, 7)::json AS geometry, g.target_min, g.target_max,
                   (SELECT count(*) FROM household h WHERE h.grid_id = g.id) AS households
              FROM grid g WHERE g.id = ANY(:ids) ORDER BY g.code"""), {"ids": written}).all()
    return {"type": "FeatureCollection", "total": len(rows), "features": [
        {"type": "Feature", "geometry": r.geometry,
         "properties": {"code": r.code, "name": r.name, "version": r.version, "households": r.households,
                        "within_target": r.target_min <= r.households <= r.target_max}}
        for r in rows]}
