"""Key places of a grid (重点场所): list (everyone who may see the grid), add and remove
(staff). Bulk loads: POST /api/v1/imports/key-places (gridmap.imports.api)."""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, Field

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, GRID_ROLES, GRID_WORKER, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.labels import label
from gridmap.places import service
from gridmap.places.models import KINDS
from gridmap.schemas import Crs, Lat, Lon
from gridmap.web import get_session

bp = Blueprint("places_api", __name__)

EDITORS = (ADMIN, SUPERVISOR, GRID_WORKER)


class NewKeyPlace(BaseModel):
    name: str = Field(min_length=1, max_length=128, description="名称")
    kind: str = Field(min_length=1, max_length=24,
                      description="类型：" + "、".join(f"{kind} {label(kind, 'place_kind')}" for kind in KINDS)
                      + "（代码或中文名均可）",
                      json_schema_extra={"enum": [*KINDS, *(label(kind, "place_kind") for kind in KINDS)]})
    lon: Lon
    lat: Lat
    crs: Crs = None
    address: str | None = Field(None, max_length=256)
    note: str | None = Field(None, max_length=500)


class KeyPlaceList(BaseModel):
    type: str
    features: list[dict[str, object]]
    total: int


@operation(bp, "/grids/<code>/key-places", "GET", summary="网格重点场所（GeoJSON）", tag="places", scope=AREA,
           roles=GRID_ROLES, response=KeyPlaceList, errors=(404,))
def grid_key_places(scope, code: str):
    return service.list_key_places(get_session(), scope, code)


@operation(bp, "/grids/<code>/key-places", "POST", summary="新增重点场所", tag="places", scope=AREA, roles=EDITORS,
           body=NewKeyPlace, response_status=201, errors=(404, 409, 422),
           data_errors=("invalid_crs", "key_place_outside_grid"),
           links={"DeleteKeyPlace": {"operationId": "delete_api_v1_grids_code_key_places_place_id",
                                     "parameters": {"code": "$request.path.code", "place_id": "$response.body#/properties/id"}}})
def create_key_place(scope, code: str, body: NewKeyPlace):
    return service.create_key_place(get_session(), scope, code, body.model_dump()), 201


@operation(bp, "/grids/<code>/key-places/<int:place_id>", "DELETE", summary="删除重点场所", tag="places", scope=AREA,
           roles=EDITORS, errors=(404,))
def delete_key_place(scope, code: str, place_id: int):
    return service.delete_key_place(get_session(), scope, code, place_id)
