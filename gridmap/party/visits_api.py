"""Party members' visits (走访) to their contact households: log one from the phone, list them.

``POST /api/v1/party-visits`` answers 201 with the stored visit, or 200 with the visit stored
before under the same ``client_id`` (a re-send from the phone's outbox writes nothing).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from flask import Blueprint
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, GRID_WORKER, PARTY_MEMBER, SUPERVISOR
from gridmap.auth.scope import AREA_OWN_CONTACTS
from gridmap.clock import MOMENT_PATTERN, now, parse_month
from gridmap.messages import message
from gridmap.party import visits
from gridmap.schemas import AreaFilter, Crs, Lat, Lon, Month
from gridmap.web import get_session

bp = Blueprint("party_visits_api", __name__)

LIST_ROLES = (ADMIN, SUPERVISOR, GRID_WORKER, PARTY_MEMBER)
_OFFSET_MOMENT = MOMENT_PATTERN.replace(")?$", ")$")  # the offset is not optional here


def _moment_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.match(_OFFSET_MOMENT, value):
        raise ValueError(message("moment_format", years=message("supported_years")))
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_moment_text), AfterValidator(lambda m: m.astimezone(UTC)),
                   Field(json_schema_extra={"pattern": _OFFSET_MOMENT})]

_POINT = {"required": ["lon", "lat"], "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}}}
_NO_POINT = {"properties": {"lon": {"type": "null"}, "lat": {"type": "null"}}}


class VisitRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"anyOf": [_POINT, _NO_POINT]})

    client_id: uuid.UUID = Field(description="手机端生成的 UUID（重复提交以此去重，返回已保存的走访）")
    household_code: str = Field(min_length=1, max_length=64, description="走访的联系户户号")
    note: str = Field("", max_length=1000, description="走访情况")
    recorded_at: Moment | None = Field(None, description="走访时间（ISO 8601，带时区；空：收到的时间）")
    lon: Lon | None = None
    lat: Lat | None = None
    crs: Crs = None
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False, description="定位精度（米）")

    @model_validator(mode="after")
    def _both_coordinates(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError(message("lon_lat_together"))
        return self


class Visit(BaseModel):
    id: int
    client_id: str
    household: str
    grid: str | None
    visited_at: str
    received_at: str | None
    note: str
    lon: float | None
    lat: float | None
    accuracy_m: float | None


class VisitQuery(AreaFilter):
    month: Month | None = Field(None, description="月份 YYYY-MM（北京时间）")
    member: int | None = Field(None, ge=1, le=2_147_483_647, description="党员编号")
    household: str | None = Field(None, min_length=1, max_length=64, description="户号")
    unmask: bool = Field(False, description="督导可申请查看完整姓名和电话（记入审计日志）")


class VisitList(BaseModel):
    items: list[dict[str, Any]]
    total: int
    masked: bool


@operation(bp, "/party-visits", "POST", summary="党员走访联系户（按手机端 UUID 去重）", tag="party",
           scope=AREA_OWN_CONTACTS, roles=(PARTY_MEMBER,), body=VisitRequest, response=Visit, response_status=201,
           errors=(404, 409, 422), also={200: message("party_visit_answer_200")},
           data_errors=("invalid_crs", "coordinate_outside_china", "coordinate_swapped", "visit_in_future"))
def create_visit(scope, body: VisitRequest):
    visit, created = visits.record_visit(
        get_session(), scope, client_id=body.client_id, household_code=body.household_code, note=body.note,
        visited_at=body.recorded_at or now(), lon=body.lon, lat=body.lat, crs=body.crs, accuracy_m=body.accuracy_m)
    return visit, 201 if created else 200


@operation(bp, "/party-visits", "GET", summary="党员走访记录（按区域、月份；党员只看自己的）", tag="party",
           scope=AREA_OWN_CONTACTS, roles=LIST_ROLES, query=VisitQuery, response=VisitList)
def list_visits(scope, query: VisitQuery):
    return visits.list_visits(get_session(), scope, within=query.within,
                              month=parse_month(query.month) if query.month else None, member_id=query.member,
                              household=query.household, unmask=query.unmask, limit=query.limit, offset=query.offset)
