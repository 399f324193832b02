"""GET /tiles/<layer>/<z>/<x>/<y>.pbf: Mapbox Vector Tiles for maps and QGIS (bearer token or login
cookie), private to the caller, revalidated by ETag (304 when unchanged)."""

from __future__ import annotations

import gzip

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.apidoc import operation
from gridmap.auth.scope import AREA
from gridmap.labels import label
from gridmap.schemas import CODE_PATTERN, Day, Month
from gridmap.tiles.service import TileRequest, tile
from gridmap.web import get_session

bp = Blueprint("tiles", __name__)

MVT = "application/vnd.mapbox-vector-tile"
TILES_PREFIX = ""  # served at the site's root, beside /api/v1: /tiles/...
GZIP_MIN_BYTES = 1024  # smaller tiles gain less than the header costs
GZIP_LEVEL = 5  # a 250 kB tile in a few ms; higher levels gain little on MVT


class TileQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀（在本人范围内再收窄）")
    hazards: bool = Field(False, description="网格图层附带隐患数 hazards 与每千户隐患 per_1000")
    hazards_since: Day | None = Field(None, description="隐患统计起始日（含），给出即附带隐患数")
    hazards_until: Day | None = Field(None, description="隐患统计截止日（含），给出即附带隐患数")
    hazards_category: str | None = Field(None, pattern=r"^[A-Za-z0-9_]{1,32}$",
                                         description="隐患类别编码：只统计该类别，给出即附带隐患数")
    patrol_month: Month | None = Field(None, description="巡查月份 YYYY-MM：附带走访户数 visited 与覆盖率 coverage")
    patrol_day: Day | None = Field(None, description="巡查日期 YYYY-MM-DD：同上，按当天统计（与 patrol_month 二选一）")

    @model_validator(mode="after")
    def _one_patrol_period(self) -> TileQuery:
        if self.patrol_month is not None and self.patrol_day is not None:
            raise ValueError("patrol_month and patrol_day exclude each other")
        return self


@operation(bp, "/tiles/<layer>/<int:z>/<int:x>/<int:y>.pbf", "GET", prefix=TILES_PREFIX,
           summary="矢量瓦片（Mapbox Vector Tile；图层 grids 网格、areas 行政区划）", tag="tiles", scope=AREA,
           query=TileQuery, content_types=(MVT,), errors=(404,), also={304: label("304", "http_status")},
           data_errors=("tile_not_found",),
           # The tile cache (UNLOGGED, so a standby cannot read it) is written on a miss and read on a hit.
           replica_reads=False)
def vector_tile(scope, query: TileQuery, layer: str, z: int, x: int, y: int):
    asked_hazards = query.hazards or any(v is not None for v in (query.hazards_since, query.hazards_until,
                                                                 query.hazards_category))
    req = TileRequest(layer=layer, z=z, x=x, y=y, within=query.within, hazards=asked_hazards,
                      hazards_since=query.hazards_since, hazards_until=query.hazards_until,
                      patrol_month=query.patrol_month, hazards_category=query.hazards_category,
                      patrol_day=query.patrol_day)
    result = tile(get_session(), scope, req, request.headers.get("If-None-Match"))
    response = Response(status=304) if result.body is None else Response(result.body, mimetype=MVT)
    response.headers["ETag"] = result.etag
    response.headers["Vary"] = "Authorization, Cookie, Accept-Encoding"
    if request.accept_encodings["gzip"] > 0:
        # A city-wide tile's names and codes shrink to about a third (scripts/bench/citymap). The ETag
        # becomes weak: the gzipped and the plain body are the same tile (RFC 9110 8.8.1), and a weak
        # If-None-Match still matches (the service reads the tag past "W/").
        response.headers["ETag"] = "W/" + result.etag
        if result.body and len(result.body) >= GZIP_MIN_BYTES:
            response.set_data(gzip.compress(result.body, GZIP_LEVEL))
            response.headers["Content-Encoding"] = "gzip"
    # Private: a tile depends on who asks. Kept, but revalidated every time (cheap: 304).
    response.headers["Cache-Control"] = "private, no-cache"
    return response
