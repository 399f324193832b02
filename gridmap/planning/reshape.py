"""Reshaping a community's grids: split one along a line, merge adjacent ones, draw a new one.

A merged-away grid is *retired*, not deleted: ``retired_at`` is set, its geometry becomes
empty and its last version is closed, so its code is never reused and history (check-ins,
hazards, versions) stays intact. New grids get the community's next free 3-digit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.coordinates import declared_crs
from gridmap.db import transaction
from gridmap.errors import NotFound, Unprocessable
from gridmap.messages import message
from gridmap.planning import moves, topology
from gridmap.planning.moves import Change, wkb
from gridmap.planning.service import grid_result, grid_row, invalid, parse_polygon, require_reason, stale_conflict

NEXT_CODE_SQL = text("""
SELECT coalesce(max(substr(code, 13, 3)::int), 0) + 1
  FROM grid WHERE code LIKE :prefix AND length(code) = 15
""")


def default_grid_name(community_name: str, code: str) -> str:
    """``社区名第N网格``: the name a grid gets when nobody gave it one (N: its code's last 3 digits)."""
    return message("planning_grid_name", community=community_name, number=int(code[-3:]))


def next_code(session: Session, community_code: str) -> str:
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
    reason = require_reason(reason or message("planning_reason_split"))
    cutter, problem = topology.line_from_geojson(line, declared_crs(crs))
    if problem is not None:
        raise invalid(problem, "line")
    with transaction(session):
        grid = grid_row(session, scope, code, lock=True)
        if version is not None and grid.version != version:
            raise stale_conflict(session, grid, version)
        current = shapely.from_wkb(bytes(session.execute(
            text("SELECT ST_AsBinary(geom) FROM grid WHERE id = :id"), {"id": grid.id}).scalar_one()))
        pieces = topology.split_by_line(current, cutter)
        if len(pieces) != 2:
            raise Unprocessable("grid_split_line_invalid", details={"parts": len(pieces)}, parts=len(pieces))
        new_code = next_code(session, grid.community_code)
        new_id = session.execute(text("""
            INSERT INTO grid (code, name, community_id, kind, geom, version, target_min, target_max)
            VALUES (:code, :name, :community_id, 'map', ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326), 0,
                    :tmin, :tmax)
            RETURNING id"""), {
            "code": new_code, "name": default_grid_name(grid.community_name, new_code), "community_id": grid.community_id,
            "wkb": wkb(pieces[1]), "tmin": grid.target_min, "tmax": grid.target_max,
        }).scalar_one()
        moves.apply_changes(session, [Change(grid.id, pieces[0]), Change(new_id, pieces[1])], reason, scope.user_id)
        result = {"grids": [grid_result(session, grid.id), grid_result(session, new_id)]}
    return result


def merge(session: Session, scope: Scope, codes: list[str], reason: str | None) -> dict[str, Any]:
    """Merge adjacent grids of one community into the one with the smallest code; the
    others are retired (kept with their versions, never reused)."""
    reason = require_reason(reason or message("planning_reason_merge"))
    codes = sorted(set(codes))
    if len(codes) < 2:
        raise Unprocessable("grid_merge_needs_two")
    with transaction(session):
        grids = [grid_row(session, scope, c, lock=True) for c in codes]
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
        moves.apply_changes(session, changes, reason, scope.user_id)
        result = grid_result(session, survivor.id)
    result["retired"] = codes[1:]
    return result


# --- a new grid ----------------------------------------------------------------------

COMMUNITY_SQL = text("""
SELECT id, code, name, geom IS NOT NULL AS has_boundary FROM admin_unit WHERE code = :code AND level = 'community'
""")


@dataclass
class NewGrid:
    """A grid not written yet, shaped like a GRID_SQL row for :func:`moves.measure`."""
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
        code = next_code(session, community.code)
    else:
        number = session.execute(NEXT_CODE_SQL, {"prefix": community.code + "___"}).scalar_one()
        if number > 999:
            raise Unprocessable("grid_codes_exhausted", code=community.code)
        code = f"{community.code}{number:03d}"
    name = (name or "").strip() or default_grid_name(community.name, code)
    return NewGrid(code=code, name=name, community_id=community.id, community_code=community.code,
                   community_name=community.name)


def preview_new(session: Session, scope: Scope, community_code: str, geometry: Any,
                crs: str | None) -> dict[str, Any]:
    """What drawing ``geometry`` as a new grid of the community would do; writes nothing.
    ``code`` is the code it would get; ``moved_in_from`` says from which grids."""
    grid = _new_grid(session, scope, community_code, None, lock=False)
    geom = parse_polygon(geometry, crs)
    result = moves.measure(session, grid, geom)
    session.rollback()
    result["name"] = grid.name
    return result


def create_grid(session: Session, scope: Scope, community_code: str, geometry: Any, crs: str | None,
                name: str | None, reason: str | None, force: bool = False) -> dict[str, Any]:
    """A new map grid of the community, with the next free code and version 1; the
    households it takes are re-assigned in the same transaction. Same rules as a save."""
    reason = require_reason(reason)
    geom = parse_polygon(geometry, crs)
    with transaction(session):
        grid = _new_grid(session, scope, community_code, name, lock=True)  # locks the community row
        check = moves.measure(session, grid, geom)
        moves.check_rules(check, force)
        grid.id = session.execute(text("""
            INSERT INTO grid (code, name, community_id, kind, geom, version, target_min, target_max)
            VALUES (:code, :name, :community_id, 'map', ST_SetSRID(ST_GeomFromWKB(decode(:wkb, 'hex')), 4326), 0,
                    :tmin, :tmax)
            RETURNING id"""), {"code": grid.code, "name": grid.name, "community_id": grid.community_id,
                               "wkb": wkb(geom), "tmin": grid.target_min, "tmax": grid.target_max}).scalar_one()
        outcome = moves.apply_changes(session, [Change(grid.id, geom)], reason, scope.user_id)
        result = grid_result(session, grid.id)
    result.update(community_code=grid.community_code, households_moved=outcome["moved"],
                  moved_in_from=check["moved_in_from"],
                  contacts_marked_for_review=outcome["contacts_marked_for_review"],
                  forced=bool(force and check["overlaps"]), overlaps=check["overlaps"],
                  gap_area_m2=check["gap_area_m2"])
    return result
