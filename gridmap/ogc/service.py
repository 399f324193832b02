"""The rows behind /ogc: one page of a collection's features, or one feature, inside the caller's
scope. Grids come from the grid list the API serves; admin units and hazards are read here,
hazards without people or free text (see README, "OGC API – Features")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, cast, func, select
from sqlalchemy.orm import Session, aliased

from gridmap.areas.models import AdminUnit
from gridmap.areas.service import list_grids
from gridmap.auth.scope import Scope
from gridmap.errors import NotFound
from gridmap.hazards.models import Hazard, HazardCategory
from gridmap.ogc.collections import AREA_LEVELS
from gridmap.ogc.params import Interval

Bbox = tuple[float, float, float, float]


def _geometry(column: Any) -> Any:
    return cast(func.ST_AsGeoJSON(column, 7), JSON).label("geometry")


def _in_bbox(column: Any, bbox: Bbox | None) -> list[Any]:
    return [] if bbox is None else [func.ST_Intersects(column, func.ST_MakeEnvelope(*bbox, 4326))]


def _page(session: Session, query: Any, order: Any, limit: int, offset: int) -> tuple[int, list[Any]]:
    matched = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return matched or 0, session.execute(query.order_by(order).limit(limit).offset(offset)).all()


# --- admin units -----------------------------------------------------------------------------------

def _units(scope: Scope, collection: str, bbox: Bbox | None, within: str | None = None) -> Any:
    parent = aliased(AdminUnit)
    return (
        select(AdminUnit.code, AdminUnit.name, AdminUnit.level, parent.code.label("parent_code"),
               _geometry(AdminUnit.geom))
        .outerjoin(parent, parent.id == AdminUnit.parent_id)
        .where(AdminUnit.level == AREA_LEVELS[collection], scope.where(AdminUnit.code, within),
               *_in_bbox(AdminUnit.geom, bbox))
    )


def _unit_feature(row: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": row.code, "geometry": row.geometry,
            "properties": {"code": row.code, "name": row.name, "level": row.level, "parent_code": row.parent_code}}


# --- hazards: what happened where and when, never who (no reporter, assignee, notes, description) --

def _hazards(scope: Scope, bbox: Bbox | None, interval: Interval | None, within: str | None = None) -> Any:
    conditions = [scope.where(Hazard.grid_code, within), *_in_bbox(Hazard.geom, bbox)]
    start, stop = interval or (None, None)
    if start is not None:
        conditions.append(Hazard.created_at >= start)
    if stop is not None:
        conditions.append(Hazard.created_at <= stop)
    return (
        select(Hazard.id, Hazard.code, Hazard.category_code, HazardCategory.name.label("category_name"),
               Hazard.severity, Hazard.status, Hazard.level, Hazard.grid_code, Hazard.created_at,
               Hazard.accept_by, Hazard.resolve_by, Hazard.closed_at, _geometry(Hazard.geom))
        .join(HazardCategory, HazardCategory.code == Hazard.category_code)
        .where(*conditions)
    )


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _hazard_feature(row: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": row.id, "geometry": row.geometry, "properties": {
        "code": row.code, "category": row.category_code, "category_name": row.category_name,
        "severity": row.severity, "status": row.status, "level": row.level, "grid_code": row.grid_code,
        "created_at": _moment(row.created_at), "accept_by": _moment(row.accept_by),
        "resolve_by": _moment(row.resolve_by), "closed_at": _moment(row.closed_at)}}


# --- what the routes call ----------------------------------------------------------------------------

def items(session: Session, scope: Scope, collection: str, bbox: Bbox | None, interval: Interval | None,
          limit: int, offset: int, within: str | None = None) -> dict[str, Any]:
    """One page: ``{"features": [...], "matched": n}``, in code order (hazards: report order)."""
    if collection == "grids":
        page = list_grids(session, scope, within, bbox, limit, offset)
        return {"features": page["features"], "matched": page["total"]}
    if collection == "hazards":
        matched, rows = _page(session, _hazards(scope, bbox, interval, within), Hazard.id, limit, offset)
        return {"features": [_hazard_feature(r) for r in rows], "matched": matched}
    matched, rows = _page(session, _units(scope, collection, bbox, within), AdminUnit.code, limit, offset)
    return {"features": [_unit_feature(r) for r in rows], "matched": matched}


def area_feature(session: Session, scope: Scope, collection: str, code: str) -> dict[str, Any]:
    """One admin unit or grid by its code; 404 when it is not there or not the caller's."""
    if code.isdigit() and scope.covers(code):
        if collection == "grids":
            found = [g for g in list_grids(session, scope, code, None, 1, 0)["features"] if g["id"] == code]
        else:
            found = [_unit_feature(r) for r in session.execute(_units(scope, collection, None)
                                                                .where(AdminUnit.code == code)).all()]
        if found:
            return found[0]
    raise NotFound("ogc_feature_not_found", collection=collection, id=code)


def hazard_feature(session: Session, scope: Scope, hazard_id: int) -> dict[str, Any]:
    row = session.execute(_hazards(scope, None, None).where(Hazard.id == hazard_id)).first()
    if row is None:
        raise NotFound("ogc_feature_not_found", collection="hazards", id=hazard_id)
    return _hazard_feature(row)
