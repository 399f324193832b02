"""Key places of a grid (重点场所): list, add, and what the 民情地图 and handbook show.

A key place belongs to one grid; scoped like the grid itself (404 outside the caller's
scope). A place added by hand must lie in its grid or within ``NEAR_GRID_M`` of its
boundary (a hydrant on the street outside), measured on geography. Bulk loads go
through gridmap.imports.places.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridmap.areas.models import Grid
from gridmap.areas.service import grid_id_for
from gridmap.auth.scope import Scope
from gridmap.coordinates import point_to_wgs84
from gridmap.db import transaction
from gridmap.errors import Conflict, NotFound, Unprocessable
from gridmap.labels import label
from gridmap.places.models import KINDS, KeyPlace

NEAR_GRID_M = 100.0
_KIND_BY_NAME = {label(kind, "place_kind"): kind for kind in KINDS}


def kind_code(value: str | None) -> str | None:
    """The catalogue code for a kind given as its code or its Chinese name; None if unknown."""
    value = (value or "").strip()
    if value in KINDS:
        return value
    return _KIND_BY_NAME.get(value)


def kind_choices() -> str:
    return "、".join(label(kind, "place_kind") for kind in KINDS)


def _feature(place: KeyPlace, lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Feature", "id": place.id, "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": place.id, "name": place.name, "kind": place.kind,
                           "kind_name": label(place.kind, "place_kind"), "address": place.address,
                           "note": place.note}}


def list_key_places(session: Session, scope: Scope, grid_code: str) -> dict[str, Any]:
    """The grid's key places as a FeatureCollection, in catalogue order then by name."""
    grid_id = grid_id_for(session, scope, grid_code)
    order = {kind: i for i, kind in enumerate(KINDS)}
    rows = session.execute(
        select(KeyPlace, func.ST_X(KeyPlace.geom), func.ST_Y(KeyPlace.geom)).where(KeyPlace.grid_id == grid_id)
    ).all()
    rows = sorted(rows, key=lambda r: (order.get(r[0].kind, 99), r[0].name, r[0].id))
    features = [_feature(place, lon, lat) for place, lon, lat in rows]
    return {"type": "FeatureCollection", "features": features, "total": len(features)}


def create_key_place(session: Session, scope: Scope, grid_code: str, fields: dict[str, Any]) -> dict[str, Any]:
    grid_id = grid_id_for(session, scope, grid_code)
    kind = kind_code(fields.get("kind"))
    if kind is None:
        raise Unprocessable("invalid_choice", details={"field": "kind", "choices": list(KINDS)},
                            field=label("place_kind", "field"), value=fields.get("kind"), choices=kind_choices())
    lon, lat = point_to_wgs84(fields["lon"], fields["lat"], fields.get("crs"))
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    near = session.scalar(select(func.ST_DWithin(func.geography(Grid.geom), func.geography(point), NEAR_GRID_M))
                          .where(Grid.id == grid_id))
    if not near:
        raise Unprocessable("key_place_outside_grid", details={"lon": lon, "lat": lat, "grid": grid_code},
                            code=grid_code, metres=int(NEAR_GRID_M))
    try:
        with transaction(session):
            place = KeyPlace(grid_id=grid_id, name=fields["name"].strip(), kind=kind, geom=point,
                             address=(fields.get("address") or "").strip(), note=(fields.get("note") or "").strip())
            session.add(place)
            session.flush()
            place_id = place.id
    except IntegrityError:
        raise Conflict("key_place_exists", details={"name": fields["name"], "kind": kind},
                       name=fields["name"]) from None
    place = session.get(KeyPlace, place_id)
    return _feature(place, lon, lat)


def delete_key_place(session: Session, scope: Scope, grid_code: str, place_id: int) -> dict[str, Any]:
    grid_id = grid_id_for(session, scope, grid_code)
    with transaction(session):
        removed = session.execute(text("DELETE FROM key_place WHERE id = :id AND grid_id = :grid"),
                                  {"id": place_id, "grid": grid_id}).rowcount
    if not removed:
        raise NotFound("key_place_not_found", id=place_id)
    return {"id": place_id, "removed": True}
