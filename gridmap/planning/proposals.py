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
from gridmap.planning import service, topology

COMMUNITIES_SQL = text("""
SELECT id, code, name, ST_AsBinary(geom) AS wkb FROM admin_unit
 WHERE level = 'community' AND code LIKE :prefix ORDER BY code
""")

HOUSEHOLDS_SQL = text("""
SELECT array_agg(ST_X(h.geom)) AS lon, array_agg(ST_Y(h.geom)) AS lat
  FROM household h JOIN admin_unit c ON ST_Intersects(c.geom, h.geom)
 WHERE c.id = :community_id
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


def accept(session: Session, scope: Scope, within: str, features: list[dict[str, Any]], crs: str | None,
           reason: str | None) -> dict[str, Any]:
    """Replace each community's grids by the accepted features, in one transaction.

    A community's existing grids are reused in code order (each gets a new version), extra
    features get the next free codes, and grids left over are retired.
    """
    reason = (reason or "").strip() or "采纳网格划分方案"
    crs = declared_crs(crs)
    communities = {c.code: c for c in _communities(session, scope, within)}
    by_community: dict[str, list[Any]] = {}
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        code = props.get("community_code") or (within if len(within) == 12 else None)
        if code not in communities:
            raise Unprocessable("unknown_parent", details={"feature": number, "parent": code}, parent=code)
        geom, problem = topology.polygon_from_geojson(feature.get("geometry"), crs)
        if problem is not None:
            raise Unprocessable(problem.code, details={"feature": number, "problems": [problem.to_dict()]},
                                **problem.params)
        by_community.setdefault(code, []).append(geom)

    written: list[int] = []
    with transaction(session):
        for code, geoms in by_community.items():
            community = communities[code]
            inside = session.execute(text("""
                SELECT bool_and(ST_CoveredBy(ST_SetSRID(ST_GeomFromWKB(decode(w, 'hex')), 4326),
                                             ST_Buffer(c.geom::geography, 1)::geometry))
                  FROM admin_unit c, unnest(CAST(:wkbs AS text[])) AS w WHERE c.id = :id"""),
                {"wkbs": [service._wkb(g) for g in geoms], "id": community.id}).scalar()
            if not inside:
                raise Unprocessable("grid_outside_community", area_m2="?")
            existing = session.execute(text("""
                SELECT id, code FROM grid WHERE community_id = :id AND kind = 'map' AND retired_at IS NULL
                 ORDER BY code FOR UPDATE"""), {"id": community.id}).all()
            changes = []
            for i, geom in enumerate(geoms):
                if i < len(existing):
                    grid_id = existing[i].id
                else:
                    new_code = service._next_code(session, code)
                    grid_id = session.execute(text("""
                        INSERT INTO grid (code, name, community_id, kind, geom, version)
                        VALUES (:code, :name, :cid, 'map', ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326), 0)
                        RETURNING id"""), {"code": new_code, "name": f"{community.name}第{int(new_code[-3:])}网格",
                                           "cid": community.id, "wkb": service._wkb(geom)}).scalar_one()
                changes.append(service.Change(grid_id, geom))
                written.append(grid_id)
            changes += [service.Change(g.id, None) for g in existing[len(geoms):]]
            service._apply(session, changes, reason, scope.user_id)
        rows = session.execute(text("""
            SELECT g.code, g.name, g.version, ST_AsGeoJSON(g.geom, 7)::json AS geometry, g.target_min, g.target_max,
                   (SELECT count(*) FROM household h WHERE h.grid_id = g.id) AS households
              FROM grid g WHERE g.id = ANY(:ids) ORDER BY g.code"""), {"ids": written}).all()
    return {"type": "FeatureCollection", "total": len(rows), "features": [
        {"type": "Feature", "geometry": r.geometry,
         "properties": {"code": r.code, "name": r.name, "version": r.version, "households": r.households,
                        "within_target": r.target_min <= r.households <= r.target_max}}
        for r in rows]}
