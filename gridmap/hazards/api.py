"""Hazards, the loop's actions, and working-day deadlines (API.md "Hazards")."""

from __future__ import annotations

import hashlib
from typing import Any, Literal
from uuid import UUID

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, Field, field_validator

from gridmap.apidoc import NO_NUL, operation, parse_model
from gridmap.auth.roles import ADMIN, ALL_ROLES, GRID_WORKER, STAFF, SUPERVISOR
from gridmap.auth.scope import AREA, GLOBAL
from gridmap.errors import BadRequest
from gridmap.hazards import deadlines, onspot, photos, service
from gridmap.hazards.models import ANSWERS, SEVERITIES, STATUSES
from gridmap.hazards.workflow import LOOP_ACTIONS
from gridmap.messages import message
from gridmap.schemas import CRS_PATTERN, BboxFilter, ClientId, Crs, Day, Lat, Lon, QueryMoment, client_request
from gridmap.web import get_session

bp = Blueprint("hazards_api", __name__)

REPORTERS = (ADMIN, SUPERVISOR, GRID_WORKER)
Severity = Literal["normal", "complex", "urgent"]
assert tuple(Severity.__args__) == SEVERITIES  # type: ignore[attr-defined]


class ReportBody(BaseModel):
    category: str = Field(min_length=1, max_length=32, description="类别编码或名称（治安、消防……）")
    severity: Severity = Field("normal", description="normal 一般、complex 复杂、urgent 紧急")
    description: str = Field("", max_length=2000)
    lon: Lon
    lat: Lat
    crs: Crs = None
    client_id: ClientId


class ReportResponse(BaseModel):
    id: int
    code: str
    grid: dict[str, Any]
    status: str
    deadlines: dict[str, str]
    calendar: str
    possible_duplicates: list[dict[str, Any]]
    replayed: bool = Field(description="true：该 client_id 此前已保存，返回的是首次保存的问题（200）")


class ActionBody(BaseModel):
    action: Literal[LOOP_ACTIONS]  # type: ignore[valid-type]
    note: str = Field("", max_length=2000)
    assignee: str | int | None = Field(None, description="承办人用户名或编号（assign 时必填）")
    version: int | None = Field(None, description="读取时的版本号；已变化时返回 409")
    answer: Literal[ANSWERS] | None = Field(  # type: ignore[valid-type]
        None, description="回访（revisit）时必填：satisfied 满意、basically_satisfied 基本满意、dissatisfied 不满意（退回处置）")
    reply: str | None = Field(None, max_length=1000, pattern=NO_NUL,
                              description="给居民的答复（居民反映的问题核查通过或办结时填写，查询页显示）")


class HazardResponse(BaseModel):
    id: int
    code: str
    status: str
    level: str
    deadlines: dict[str, Any]
    allowed_actions: list[str]
    resolution: str | None = Field(None, description="on_the_spot：就地解决（其余为空）")
    events: list[dict[str, Any]] = []
    photos: list[dict[str, Any]] = []


class HazardQuery(BboxFilter):
    status: str | None = Field(None, pattern=f"^({'|'.join(STATUSES)})(,({'|'.join(STATUSES)}))*$",
                               description="状态，可用逗号分隔多个")
    category: str | None = Field(None, max_length=32)
    overdue: bool | None = Field(None, description="true：只看已超期的")
    since: QueryMoment | None = Field(None, description="上报时间不早于（ISO 8601；无时区按北京时间）")
    until: QueryMoment | None = Field(None, description="上报时间早于（ISO 8601；无时区按北京时间）")
    resolution: Literal["on_the_spot"] | None = Field(None, description="on_the_spot：只看就地解决的")
    sample: int | None = Field(None, ge=1, le=100, description="随机抽取这么多件（抽查）；total 仍为全部件数")

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | None) -> str | None:
        if value:
            unknown = [s for s in value.split(",") if s not in STATUSES]
            if unknown:
                raise ValueError(message("hazard_status_unknown", statuses=",".join(unknown),
                                         choices=",".join(STATUSES)))
        return value


class HazardList(BaseModel):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]
    total: int


class DeadlineQuery(BaseModel):
    start: QueryMoment = Field(description="起算时间（ISO 8601；不带时区按北京时间）")
    working_days: int = Field(ge=0, le=366)


class DeadlineResponse(BaseModel):
    due: str
    calendar: Literal["official", "fallback"]


class HolidayDay(BaseModel):
    date: Day
    is_workday: bool = Field(strict=True, description="true：调休上班日；false：放假")
    name: str = Field("", max_length=64)


class HolidayBody(BaseModel):
    year: int = Field(ge=2000, le=2100)
    source: str = Field("", max_length=200, description="来源，如国务院办公厅通知文号")
    days: list[HolidayDay] = Field(min_length=1, max_length=366)


class HolidayResponse(BaseModel):
    year: int
    days: int
    holidays: int
    workdays: int


@operation(bp, "/hazards", "POST", summary="上报问题隐患（落入所在网格，返回疑似重复）", tag="hazards", scope=AREA,
           roles=REPORTERS, body=ReportBody, response=ReportResponse, response_status=201, errors=(409, 422),
           also={200: message("client_replay_answer_200")},
           data_errors=("hazard_category_unknown", "invalid_crs", "not_in_any_grid", "hazard_outside_scope",
                        "client_id_taken"),
           links={"GetHazard": {"operationId": "get_api_v1_hazards_hazard_id", "parameters": {"hazard_id": "$response.body#/id"}}})
def report(scope, body: ReportBody):
    client = client_request(body.client_id, body.model_dump(exclude={"client_id"}))
    result = service.report(get_session(), scope, category=body.category, severity=body.severity,
                            description=body.description, lon=body.lon, lat=body.lat, crs=body.crs, client=client)
    return result, 200 if result["replayed"] else 201


@operation(bp, "/hazards", "GET", summary="问题列表（超期优先，按期限排序）", tag="hazards", scope=AREA, roles=STAFF,
           query=HazardQuery, response=HazardList, errors=(422,), data_errors=("hazard_category_unknown",))
def hazards(scope, query: HazardQuery):
    return service.list_hazards(
        get_session(), scope, within=query.within, statuses=query.status.split(",") if query.status else None,
        category=query.category, overdue=query.overdue, bbox=query.bbox, since=query.since, until=query.until,
        resolution=query.resolution, sample=query.sample, limit=query.limit, offset=query.offset)


@operation(bp, "/hazards/<int:hazard_id>", "GET", summary="问题详情（含全部流转记录）", tag="hazards", scope=AREA,
           roles=STAFF, response=HazardResponse, errors=(404,))
def hazard(scope, hazard_id: int):
    return service.get_hazard(get_session(), scope, hazard_id)


@operation(bp, "/hazards/<int:hazard_id>/actions", "POST",
           summary="流转操作（受理、指派、处置、反馈、核查、办结、退回、上报、重新打开、督办、回访）", tag="hazards", scope=AREA,
           roles=REPORTERS, body=ActionBody, response=HazardResponse, errors=(403, 404, 409, 422),
           data_errors=("hazard_assignee_invalid", "hazard_assignee_required", "hazard_note_required",
                        "hazard_revisit_answer_required", "hazard_reply_not_allowed"))
def hazard_action(scope, hazard_id: int, body: ActionBody):
    return service.act(get_session(), scope, hazard_id, body.action, body.note, body.assignee, body.version,
                       answer=body.answer, reply=body.reply)


class DuplicateQuery(BaseModel):
    category: str = Field(min_length=1, max_length=32)
    lon: Lon
    lat: Lat
    crs: Crs = None


@operation(bp, "/hazards/duplicates", "GET", summary="上报前查重：50 米内同类未办结问题", tag="hazards", scope=AREA,
           roles=REPORTERS, query=DuplicateQuery, errors=(422,),
           data_errors=("hazard_category_unknown", "invalid_crs"))
def hazard_duplicates(scope, query: DuplicateQuery):
    return service.check_duplicates(get_session(), scope, category=query.category, lon=query.lon, lat=query.lat,
                                    crs=query.crs)


PHOTO_FORM = {"file": "file",
              # dict(), not a literal: the catalogue check reads Chinese only in description= arguments
              "client_id": dict(type="string", format="uuid",  # noqa: C408
                                description="手机离线待发队列为这张照片生成的编号；重发同一编号不重复保存（每次一张）")}


class PhotoList(BaseModel):
    items: list[dict[str, Any]]
    total: int


def photo_limits() -> photos.PhotoLimits:
    """The photo limits of the app's settings."""
    return photos.PhotoLimits.of(current_app.config["GRIDMAP"])


def photo_body_limit() -> int:
    return photo_limits().body


def uploaded_photos(limits: photos.PhotoLimits, field: str = "file") -> list[bytes]:
    """Every ``field`` part with a file, each read to one byte past the limit (a 413 without reading more)."""
    return [upload.stream.read(limits.max_bytes + 1) for upload in request.files.getlist(field) if upload]


@operation(bp, "/hazards/<int:hazard_id>/photos", "POST", summary="上传问题照片（JPEG/PNG，去除位置等 EXIF 信息）",
           tag="hazards", scope=AREA, roles=REPORTERS, form=PHOTO_FORM, response=PhotoList, response_status=201,
           errors=(404, 409, 413, 422), max_body=photo_body_limit,
           data_errors=("hazard_photo_type", "hazard_photo_invalid", "hazard_photo_required", "hazard_photo_too_many",
                        "hazard_photo_client_id_one", "client_id_taken"))
def add_hazard_photos(scope, hazard_id: int):
    limits = photo_limits()
    client_id = request.form.get("client_id") or None
    if client_id is not None:
        try:
            client_id = str(UUID(client_id))
        except ValueError:
            raise BadRequest("client_id_invalid", details={"field": "client_id"}) from None
    return photos.add_photos(get_session(), scope, hazard_id, uploaded_photos(limits), limits, client_id), 201


@operation(bp, "/hazards/<int:hazard_id>/photos/<int:n>", "GET", summary="问题照片（按问题的范围授权）",
           tag="hazards", scope=AREA, roles=STAFF, errors=(404,), content_types=("image/jpeg", "image/png"))
def hazard_photo(scope, hazard_id: int, n: int):
    response = photo_response(*photos.get_photo(get_session(), scope, hazard_id, n))
    response.headers["Content-Disposition"] = f"inline; filename=hazard-{hazard_id}-{n}"
    return response


def photo_response(data: bytes, content_type: str, sha256: str) -> Response:
    """A stored photo, tagged by its hash. The browser keeps it but asks again before each
    showing ("no-cache": a 304 without the bytes when unchanged), so a photo is shown only to
    whoever may still see it: not after logout, nor after the caller's area changed."""
    response = Response(data, mimetype=content_type)
    response.set_etag(sha256)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


@operation(bp, "/hazards/categories", "GET", summary="问题类别目录", tag="hazards", scope=GLOBAL, roles=STAFF)
def hazard_categories(scope):
    return {"items": service.categories(get_session())}


@operation(bp, "/calendar/deadline", "GET", summary="按工作日计算期限（法定节假日与调休）", tag="calendar",
           scope=GLOBAL, roles=ALL_ROLES, query=DeadlineQuery, response=DeadlineResponse)
def calendar_deadline(scope, query: DeadlineQuery):
    return deadlines.deadline(get_session(), query.start, query.working_days)


@operation(bp, "/calendar/holidays", "POST", summary="导入某年法定节假日与调休上班日（优先于内置日历）",
           tag="calendar", scope=GLOBAL, roles=(ADMIN,), body=HolidayBody, response=HolidayResponse, errors=(422,),
           data_errors=("holiday_year_mismatch",))
def load_holidays(scope, body: HolidayBody):
    return deadlines.load_holidays(get_session(), body.year, [(d.date, d.is_workday, d.name) for d in body.days],
                                   body.source or message("holiday_source_upload", username=scope.username))


_REPORT_FIELDS = ReportBody.model_json_schema()["properties"]
# The report's fields as multipart text (lon, lat as numbers in text), and the photos by stage.
ONSPOT_FORM = {
    "category": {**_REPORT_FIELDS["category"], "pattern": NO_NUL, "x-required": True},
    "severity": _REPORT_FIELDS["severity"],
    "description": {**_REPORT_FIELDS["description"], "pattern": NO_NUL},
    "lon": {**_REPORT_FIELDS["lon"], "x-required": True},
    "lat": {**_REPORT_FIELDS["lat"], "x-required": True},
    "crs": {"type": "string", "pattern": CRS_PATTERN},
    "client_id": {"type": "string", "format": "uuid", "description": _REPORT_FIELDS["client_id"]["description"]},
    "before": "file",
    "after": "file",
}


class FixResponse(HazardResponse):
    replayed: bool = Field(description="true：该 client_id 此前已保存，返回的是已保存的问题（200）")


@operation(bp, "/hazards/on-the-spot", "POST",
           summary="就地解决：网格员发现并当场处置的问题，附处置前、处置后照片（去除 EXIF），直接办结", tag="hazards",
           scope=AREA, roles=(GRID_WORKER,), form=ONSPOT_FORM, response=FixResponse, response_status=201,
           errors=(409, 413, 422), max_body=photo_body_limit, also={200: message("client_replay_answer_200")},
           data_errors=("hazard_category_unknown", "invalid_crs", "not_in_any_grid", "hazard_outside_scope",
                        "hazard_photo_type", "hazard_photo_invalid", "hazard_photo_too_many",
                        "hazard_onspot_photo_required", "hazard_onspot_photo_repeated", "client_id_taken"))
def solve_on_the_spot(scope):
    fields = parse_model(ReportBody, request.form.to_dict())
    limits = photo_limits()
    before, after = uploaded_photos(limits, "before"), uploaded_photos(limits, "after")
    # The digest covers the photos too: the same id re-sent with other photos is another request.
    sent = {**fields.model_dump(exclude={"client_id"}),
            "before": [hashlib.sha256(b).hexdigest() for b in before],
            "after": [hashlib.sha256(b).hexdigest() for b in after]}
    result = onspot.record(get_session(), scope, category=fields.category, severity=fields.severity,
                           description=fields.description, lon=fields.lon, lat=fields.lat, crs=fields.crs,
                           before=before, after=after, limits=limits, client=client_request(fields.client_id, sent))
    return result, 200 if result["replayed"] else 201
