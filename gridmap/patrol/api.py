"""Patrol API (API.md "Patrol"): check-ins, their list, tracks and 五必访 coverage.

``POST /api/v1/checkins`` answers a single object with the item itself (201 created,
200 duplicate, or the item's error status with the error envelope). A batch
``{"items": [...]}`` (at most 500) answers ``{"items": [...], "created", "duplicate",
"errors"}`` with one result per item in order: 200 when every item was stored (or
already was), 207 when some were rejected — each rejected item carries ``status:
"error"``, its ``http_status`` (400 malformed, 422 invalid, 409 id taken) and the error
``{"code","message","details"}``; the good items of the batch are stored all the same. An
item that is not an object makes the whole request malformed (400, as the document states).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
from flask import Blueprint, Response, current_app
from pydantic import BaseModel, Field, RootModel, model_validator

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, GRID_WORKER, SUPERVISOR
from gridmap.auth.scope import AREA, AREA_OWN_CONTACTS, AREA_OWN_RECORDS
from gridmap.clock import day_or_today, month_or_this
from gridmap.config import PatrolRules
from gridmap.errors import BadRequest
from gridmap.messages import message
from gridmap.patrol import service, tracks
from gridmap.patrol.items import ITEM, CheckinItem
from gridmap.patrol.service import MAX_BATCH
from gridmap.schemas import (
    CODE_PATTERN,
    AreaFilter,
    Crs,
    Day,
    FeatureCollection,
    Lat,
    ListResponse,
    Lon,
    Month,
    described,
)
from gridmap.web import get_session

bp = Blueprint("patrol_api", __name__)

CHECKIN_ROLES = (ADMIN, SUPERVISOR, GRID_WORKER)


def _rules() -> PatrolRules:
    return current_app.config["GRIDMAP"].patrol


KEPT = CheckinItem.__required_keys__ | CheckinItem.__optional_keys__


def _kept(item: Any) -> Any:
    """A check-in's members the code reads; the rest (which may hold anything, NUL included)
    never reaches PostgreSQL and is dropped before the NUL check. An item holding no other
    member (the phone's) is kept as it is."""
    if not isinstance(item, dict) or item.keys() <= KEPT:
        return item
    return {key: value for key, value in item.items() if key in KEPT}


class CheckinRequest(RootModel[dict[str, Any]]):
    """One check-in, or ``{"items": [...]}`` with up to 500, each an object (API.md "Patrol"):
    an item that is not an object makes the whole batch malformed (400)."""

    @model_validator(mode="before")
    @classmethod
    def _kept_members(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "items" not in data:
            return _kept(data)
        items = data["items"]
        if isinstance(items, list) and not all(isinstance(item, dict) for item in items):
            raise ValueError(message("checkin_items_not_objects"))
        return {"items": [_kept(item) for item in items] if isinstance(items, list) else items}

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        item = ITEM.json_schema(*args, **kwargs)
        defs = item.pop("$defs", {})
        defs["CheckinItem"] = item
        template = kwargs.get("ref_template", "#/$defs/{model}")
        ref = {"$ref": template.format(model="CheckinItem")}
        return {
            "title": "CheckinRequest",
            "oneOf": [ref, {"type": "object", "required": ["items"], "properties": {
                "items": described({"type": "array", "minItems": 0, "maxItems": MAX_BATCH, "items": {"anyOf": [
                    ref, described({"type": "object"},
                                   description="不合格的一条（缺字段、值不合法）：单独以 400/422 答复，批量返回 207")]}},
                                   description="每条都是对象，逐条判定；空数组也可：返回 200，各计数为 0")}}],
            "$defs": defs,
        }


class CheckinResult(BaseModel):
    index: int | None = None
    id: str | None
    status: str
    grid: str | None = None
    grid_name: str | None = None
    in_own_grid: bool | None = None
    position: str | None = None
    flags: list[str] = []
    error: dict[str, Any] | None = None


class CheckinBatchResponse(BaseModel):
    items: list[CheckinResult]
    created: int
    duplicate: int
    errors: int


class CheckinResponse(RootModel[CheckinResult | CheckinBatchResponse]):
    """One check-in's answer for a single one, the batch's for a batch."""


@operation(bp, "/checkins", "POST", summary="巡查打卡（单条或批量，按手机端 UUID 去重）", tag="patrol",
           scope=AREA_OWN_RECORDS, roles=CHECKIN_ROLES, body=CheckinRequest, response=CheckinResponse,
           response_status=201, errors=(409, 413, 422),
           also={200: message("checkins_answer_200"), 207: message("checkins_answer_207")},
           data_errors=("invalid_crs", "household_not_found", "coordinate_outside_china", "coordinate_swapped"))
def create_checkins(scope, body: CheckinRequest):
    data = body.root
    batch = "items" in data
    if batch:
        raw = data["items"]
        if not isinstance(raw, list):
            raise BadRequest("bad_request", reason=message("checkin_items_not_array"))
    else:
        raw = [data]
    results = service.record_checkins(get_session(), scope, raw, rules=_rules())
    if not batch:
        result = results[0]
        if result["status"] == "error":
            return _json({"error": result["error"]}, result["http_status"])
        result.pop("index", None)
        return _json(result, 201 if result["status"] == "created" else 200)
    counts = Counter(r["status"] for r in results)
    body_out = {"items": results, "created": counts["created"], "duplicate": counts["duplicate"],
                "errors": counts["error"]}
    return _json(body_out, 207 if counts["error"] else 200)


def _json(body: dict[str, Any], status: int) -> Response:
    """The answer as ``jsonify`` writes it (keys sorted, UTF-8, a final newline), by orjson:
    a batch's 500 answers took it 8 µs a check-in, orjson 0.5."""
    return Response(orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE), status,
                    mimetype="application/json")


class CheckinListQuery(AreaFilter):
    limit: int = Field(1000, ge=1, le=5000, description="每页条数")
    user: str | None = Field(None, max_length=64, description="只看此用户名的打卡")
    date: Day | None = Field(None, description="日期 YYYY-MM-DD（北京时间，默认今天）")


class TracksQuery(BaseModel):
    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀")
    user: str | None = Field(None, max_length=64, description="只看此用户名")
    date: Day | None = Field(None, description="日期 YYYY-MM-DD（北京时间，默认今天）")


class CoverageQuery(BaseModel):
    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀")
    month: Month | None = Field(None, description="月份 YYYY-MM（默认本月）")


class TracksResponse(BaseModel):
    date: str
    items: list[dict[str, Any]]
    total: int


class CoverageResponse(BaseModel):
    month: str
    tags: list[str]
    grids: list[dict[str, Any]]
    workers: list[dict[str, Any]]
    required: int
    visited: int
    share: float | None = None


@operation(bp, "/checkins", "GET", summary="巡查打卡列表（GeoJSON；网格员只看自己的）", tag="patrol",
           scope=AREA_OWN_RECORDS, query=CheckinListQuery, response=FeatureCollection, errors=(422,))
def list_checkins(scope, query: CheckinListQuery):
    return tracks.list_checkins(get_session(), scope, within=query.within, username=query.user,
                                day=day_or_today(query.date), limit=query.limit, offset=query.offset)


@operation(bp, "/patrol/tracks", "GET", summary="每人每日巡查轨迹、里程、在格时长和住户覆盖率", tag="patrol",
           scope=AREA_OWN_RECORDS, query=TracksQuery, response=TracksResponse, errors=(422,))
def patrol_tracks(scope, query: TracksQuery):
    return tracks.daily_tracks(get_session(), scope, within=query.within, username=query.user,
                               day=day_or_today(query.date), rules=_rules())


@operation(bp, "/patrol/coverage", "GET", summary="五必访：本月应访住户、已访和待访名单（按网格、按网格员）",
           tag="patrol", scope=AREA_OWN_CONTACTS, query=CoverageQuery, response=CoverageResponse, errors=(422,))
def patrol_coverage(scope, query: CoverageQuery):
    return tracks.visit_coverage(get_session(), scope, within=query.within, month=month_or_this(query.month),
                                 rules=_rules())


class NearbyQuery(BaseModel):
    lon: Lon
    lat: Lat
    crs: Crs = None
    limit: int = Field(30, ge=1, le=200)


@operation(bp, "/patrol/households", "GET", summary="附近的住户（打卡时选择走访对象，五必访优先提示）", tag="patrol",
           scope=AREA, roles=CHECKIN_ROLES, query=NearbyQuery, response=ListResponse, errors=(422,),
           data_errors=("invalid_crs",))
def nearby_households(scope, query: NearbyQuery):
    return tracks.nearby_households(get_session(), scope, query.lon, query.lat, query.crs, query.limit,
                                    rules=_rules())
