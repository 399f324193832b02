"""Areas, grids and locate (API.md "Areas and grids")."""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, Field

from gridmap.apidoc import operation
from gridmap.areas import service
from gridmap.auth.scope import AREA
from gridmap.schemas import CODE_PATTERN, BboxFilter, Crs, Feature, FeatureCollection, Lat, ListResponse, Lon, Page
from gridmap.web import get_session

bp = Blueprint("areas_api", __name__)


class AreaQuery(Page):
    parent: str | None = Field(None, pattern=CODE_PATTERN, description="上级区域编码")


class GridQuery(BboxFilter):
    limit: int = Field(500, ge=1, le=5000, description="每页条数")
    q: str | None = Field(None, min_length=1, max_length=50, description="网格编码前缀或名称中的文字")


class LocateQuery(BaseModel):
    lon: Lon
    lat: Lat
    crs: Crs = None


class LocateResponse(BaseModel):
    grid: dict[str, str]
    community: dict[str, str] | None
    street: dict[str, str] | None
    district: dict[str, str] | None


@operation(bp, "/areas", "GET", summary="行政区划列表", tag="areas", scope=AREA, query=AreaQuery, response=ListResponse)
def areas(scope, query: AreaQuery):
    return service.list_areas(get_session(), scope, query.parent, query.limit, query.offset)


@operation(bp, "/grids", "GET", summary="网格列表（GeoJSON）", tag="areas", scope=AREA, query=GridQuery,
           response=FeatureCollection)
def grids(scope, query: GridQuery):
    return service.list_grids(get_session(), scope, query.within, query.bbox, query.limit, query.offset,
                              q=query.q)


@operation(bp, "/grids/<code>", "GET", summary="网格详情（含各类标签户数）", tag="areas", scope=AREA, response=Feature,
           errors=(404,))
def grid(scope, code: str):
    return service.grid_detail(get_session(), scope, code)


@operation(bp, "/locate", "GET", summary="坐标所在网格", tag="areas", scope=AREA, query=LocateQuery,
           response=LocateResponse, errors=(404, 422), data_errors=("invalid_crs",))
def locate(scope, query: LocateQuery):
    return service.locate(get_session(), scope, query.lon, query.lat, query.crs or "wgs84")
