"""A tile of a layer for a caller: the features their scope covers, versioned by what they show.

A tile's ETag is ``"<key>.<tag>"``: the key hashes everything the request depends on besides
the data (layer, z/x/y, the caller's scope prefix and role, the query), the tag is computed in
the database from what the tile shows (gridmap.tiles.sql). Two callers with different scopes or
queries never share an ETag; an unchanged tile keeps its ETag and is answered 304 without
building the MVT; a tile with no feature is answered empty without building one either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.clock import day_bounds, month_bounds, parse_month
from gridmap.db import transaction
from gridmap.errors import NotFound
from gridmap.tiles import cache
from gridmap.tiles.sql import AREAS_SQL, EXTENT, grids_sql

LAYERS = ("grids", "areas")
MAX_ZOOM = 22
WEB_MERCATOR_WIDTH_DEGREES = 360.0


@dataclass(frozen=True)
class TileRequest:
    layer: str
    z: int
    x: int
    y: int
    within: str | None = None
    hazards: bool = False
    hazards_since: date | None = None
    hazards_until: date | None = None  # inclusive
    patrol_month: str | None = None
    hazards_category: str | None = None  # a category code: only its hazards count
    patrol_day: date | None = None  # instead of patrol_month: the households visited that day


@dataclass(frozen=True)
class Tile:
    etag: str
    body: bytes | None  # None: the caller's copy (If-None-Match) is current
    features: int


def area_levels(z: int) -> tuple[str, ...]:
    """Which admin levels the areas layer shows at zoom ``z``."""
    if z <= 10:
        return ("district",)
    if z <= 12:
        return ("district", "street")
    return ("street", "community")


def check_tile(layer: str, z: int, x: int, y: int) -> None:
    """404 tile_not_found for an unknown layer or a z/x/y that names no tile."""
    if layer not in LAYERS or not 0 <= z <= MAX_ZOOM or not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise NotFound("tile_not_found", layer=layer, z=z, x=x, y=y)


def _key(scope: Scope, req: TileRequest) -> str:
    parts = (req.layer, req.z, req.x, req.y, scope.prefix, scope.role, req.within, req.hazards,
             req.hazards_since, req.hazards_until, req.patrol_month, req.hazards_category, req.patrol_day)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _known_tag(key: str, if_none_match: str | None) -> str | None:
    """The tag of the caller's copy when its ETag was made for this very request."""
    for candidate in (if_none_match or "").split(","):
        value = candidate.strip().removeprefix("W/").strip('"')
        if value.startswith(key + "."):
            return value[len(key) + 1:]
    return None


def _sources(req: TileRequest) -> tuple[str, ...]:
    """The tables whose writes may change the tile ``req`` (tile_change.source)."""
    if req.layer == "areas":
        return ("admin_unit",)
    return ("admin_unit", "grid", "household") + (("hazard",) if req.hazards else ()) \
        + (("checkin",) if req.patrol_month or req.patrol_day else ())


def _statement(req: TileRequest, params: dict[str, Any]) -> str:
    if req.layer == "areas":
        params["levels"] = list(area_levels(req.z))
        return AREAS_SQL
    if req.hazards:
        params["hz_lo"] = day_bounds(req.hazards_since)[0] if req.hazards_since else day_bounds(date(2000, 1, 1))[0]
        params["hz_hi"] = day_bounds(req.hazards_until or date(2100, 12, 31))[1]
    if req.hazards and req.hazards_category:
        params["hz_category"] = req.hazards_category
    if req.patrol_month:
        params["pt_lo"], params["pt_hi"] = month_bounds(parse_month(req.patrol_month))
    elif req.patrol_day:
        params["pt_lo"], params["pt_hi"] = day_bounds(req.patrol_day)
    return grids_sql(req.hazards, bool(req.patrol_month or req.patrol_day),
                     category=bool(req.hazards and req.hazards_category))


def tile(session: Session, scope: Scope, req: TileRequest, if_none_match: str | None = None) -> Tile:
    """The tile ``req`` as ``scope`` sees it; ``body`` is None when ``if_none_match`` is current."""
    check_tile(req.layer, req.z, req.x, req.y)
    key = _key(scope, req)
    pattern = scope.like_pattern(req.within)
    if pattern is None:  # a within outside the scope: nothing to show
        return Tile(etag=f'"{key}.none"', body=None if _known_tag(key, if_none_match) == "none" else b"",
                    features=0)
    # Half a tile unit, in degrees: detail finer than a pixel never reaches the tile.
    tolerance = WEB_MERCATOR_WIDTH_DEGREES / (2 ** req.z * EXTENT) / 2
    params: dict[str, Any] = {"z": req.z, "x": req.x, "y": req.y, "prefix": pattern, "layer": req.layer,
                              "tolerance": tolerance, "known": _known_tag(key, if_none_match)}
    with transaction(session):
        hit = cache.lookup(session, key, _sources(req), params["known"])
        if hit is not None:
            return Tile(etag=f'"{key}.{hit.tag}"', body=hit.body, features=hit.features)
        row = session.execute(text(_statement(req, params)), params).one()
        if row.tag == params["known"]:  # not built: nothing to keep
            return Tile(etag=f'"{key}.{row.tag}"', body=None, features=row.n)
        body = bytes(row.mvt) if row.mvt is not None else b""
        cache.store(session, key, row.tag, row.n, body, row.snap)
    return Tile(etag=f'"{key}.{row.tag}"', body=body, features=row.n)
