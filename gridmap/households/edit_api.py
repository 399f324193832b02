"""Household information collection (基础信息采集): add, edit (with ``version``), history, and
the approval of sensitive edits (API.md "Added for the second round of work")."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from werkzeug.routing import BaseConverter

from gridmap.apidoc import operation
from gridmap.auth.masking import normalise_tag
from gridmap.auth.roles import ADMIN, GRID_WORKER, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.households import approvals, edits, history
from gridmap.messages import message
from gridmap.schemas import AreaFilter, ClientId, Crs, Lat, ListResponse, Lon, client_request
from gridmap.web import get_session

bp = Blueprint("household_edits_api", __name__)


class HouseholdCodeConverter(BaseConverter):
    """``<household:household_code>``: one path segment, but not a word of another households path
    (``/households/outside-grids`` must not also answer PATCH)."""

    regex = r"(?!outside-grids$)[^/]+"


bp.record_once(lambda state: state.app.url_map.converters.setdefault("household", HouseholdCodeConverter))

EDITORS = (ADMIN, SUPERVISOR, GRID_WORKER)
APPROVERS = (ADMIN, SUPERVISOR)
HOUSEHOLD_CODE = r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$"
TAG_MAX = 32


def _short_when_spelled(tag: str) -> str:
    """The limit holds for the tag as stored (``normalise_tag``): NFKC makes some characters
    several (㍿ is 株式会社), and a tag of 32 of them was stored 128 long."""
    if len(normalise_tag(tag)) > TAG_MAX:
        raise ValueError(message("tag_too_long", limit=TAG_MAX))
    return tag


Tag = Annotated[str, Field(min_length=1, max_length=TAG_MAX), AfterValidator(_short_when_spelled)]

_POINT = {"required": ["lon", "lat"], "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}}}
_NO_POINT = {"properties": {"lon": {"type": "null"}, "lat": {"type": "null"}}}


class HouseholdFields(BaseModel):
    model_config = ConfigDict(json_schema_extra={"anyOf": [_POINT, _NO_POINT]})

    address: str = Field(None, max_length=256, description="地址（可省略，不可为 null）")
    head_name: str | None = Field(None, max_length=64, description="户主姓名")
    phone: str | None = Field(None, max_length=32, description="联系电话")
    size: int | None = Field(None, ge=1, le=99, description="人数")
    tags: list[Tag] = Field(None, max_length=20, description="标签（社区矫正等敏感标签由网格员修改时须社区审核）")
    risk_level: Literal["high", "medium", "low"] | None = Field(None, description="家庭风险等级（网格员修改须社区审核）")
    lon: Lon | None = None
    lat: Lat | None = None
    crs: Crs = Field(None, description="手机定位多为 gcj02")
    device: str | None = Field(None, max_length=128, description="设备标识（缺省时记录 User-Agent）")
    client_id: ClientId

    @model_validator(mode="after")
    def _both_coordinates(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError(message("lon_lat_together"))
        return self


class NewHousehold(HouseholdFields):
    model_config = ConfigDict(json_schema_extra={"anyOf": [_POINT]})

    code: str = Field(pattern=HOUSEHOLD_CODE, description="户号")
    lon: Lon
    lat: Lat


class HouseholdEdit(HouseholdFields):
    version: int = Field(ge=1, le=2_000_000_000, description="编辑所基于的版本；已被他人修改时为 409，附当前版本")
    status: Literal["active", "moved_out", "merged"] = Field(None, description="在住、迁出、并户（不可为 null）")
    merged_into: str | None = Field(None, max_length=64, description="并户时并入的户号")


class HouseholdOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    version: int
    status: str
    grid: str | None
    replayed: bool = Field(False, description="true：该 client_id 此前已保存，未再次修改，返回住户当前信息")


class EditOut(HouseholdOut):
    pending: list[str]


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    unmask: bool = Field(False, description="督导可申请查看完整信息（记入审计日志）")
    from_version: int | None = Field(None, ge=0, le=2_000_000_000, description="比较：起始版本")
    to_version: int | None = Field(None, ge=0, le=2_000_000_000, description="比较：结束版本（缺省为当前）")


class HistoryOut(BaseModel):
    household: str
    version: int
    items: list[dict[str, object]]
    total: int
    masked: bool
    compare: dict[str, object] | None = None


class Decision(BaseModel):
    note: str = Field("", max_length=500, description="审核意见")


def _device(body: HouseholdFields) -> str:
    return body.device or request.headers.get("User-Agent", "")[:256]


def _client(body: HouseholdFields, **where: str) -> tuple[str, str] | None:
    return client_request(body.client_id, {**body.model_dump(exclude={"client_id", "device"}, exclude_unset=True),
                                           **where})


@operation(bp, "/households", "POST", summary="新增住户（网格员在本网格，督导在辖区）", tag="households", scope=AREA,
           roles=EDITORS, body=NewHousehold, response=HouseholdOut, response_status=201, errors=(409, 422),
           also={200: message("client_replay_answer_200")},
           data_errors=("invalid_crs", "household_code_taken", "household_outside_scope", "client_id_taken"))
def create_household(scope, body: NewHousehold):
    fields = body.model_dump(exclude_unset=True, exclude={"client_id"})
    answer = edits.create(get_session(), scope, fields, _device(body), _client(body))
    return answer, 200 if answer["replayed"] else 201


@operation(bp, "/households/<household:household_code>", "PATCH",
           summary="修改住户信息（带 version；敏感字段须社区审核）", tag="households", scope=AREA, roles=EDITORS,
           body=HouseholdEdit, response=EditOut, errors=(403, 404, 409, 422),
           data_errors=("invalid_crs", "household_version_stale", "household_outside_scope", "merged_into_invalid",
                        "household_status_needs_supervisor", "client_id_taken"))
def update_household(scope, household_code: str, body: HouseholdEdit):
    fields = body.model_dump(exclude_unset=True, exclude={"client_id"})
    return edits.update(get_session(), scope, household_code, fields, _device(body),
                        _client(body, household=household_code))


@operation(bp, "/households/<household:household_code>/history", "GET",
           summary="住户修改记录（每次修改一个版本，可比较）", tag="households", scope=AREA, roles=EDITORS, query=HistoryQuery, response=HistoryOut, errors=(404,))
def household_history(scope, household_code: str, query: HistoryQuery):
    return history.history(get_session(), scope, household_code, unmask=query.unmask, since=query.from_version,
                           until=query.to_version)


@operation(bp, "/household-changes", "GET", summary="待审核的住户敏感信息修改", tag="households", scope=AREA,
           roles=APPROVERS, query=AreaFilter, response=ListResponse)
def pending_changes(scope, query: AreaFilter):
    return approvals.pending(get_session(), scope, query.within, query.limit, query.offset)


@operation(bp, "/households/<household:household_code>/changes/<int:change_id>/approve", "POST",
           summary="通过住户信息修改", tag="households", scope=AREA, roles=APPROVERS, body=Decision, response=HouseholdOut, errors=(404, 409),
           data_errors=("household_change_decided",))
def approve_change(scope, household_code: str, change_id: int, body: Decision):
    return approvals.decide(get_session(), scope, household_code, change_id, True, body.note)


@operation(bp, "/households/<household:household_code>/changes/<int:change_id>/reject", "POST",
           summary="驳回住户信息修改", tag="households", scope=AREA, roles=APPROVERS, body=Decision, response=HouseholdOut, errors=(404, 409),
           data_errors=("household_change_decided",))
def reject_change(scope, household_code: str, change_id: int, body: Decision):
    return approvals.decide(get_session(), scope, household_code, change_id, False, body.note)
