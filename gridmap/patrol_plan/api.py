"""Patrol plan API: list and set plans (supervisors within their area), remove one, and what is
behind plan now (gridmap.patrol_plan.service)."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app
from pydantic import BaseModel, Field

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, GRID_WORKER, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.patrol_plan import service
from gridmap.schemas import AreaFilter, ListResponse
from gridmap.web import get_session

bp = Blueprint("patrol_plan_api", __name__)

READERS = (ADMIN, SUPERVISOR, GRID_WORKER)
EDITORS = (ADMIN, SUPERVISOR)
PLAN_CODE = r"^(?:[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})$"


class PlanRequest(BaseModel):
    subject: Literal["grid", "place"] = Field(description="grid：网格巡查；place：重点场所走访")
    code: str = Field(pattern=PLAN_CODE, description="设在哪里：区县、街道、社区编码（下级默认继承）或网格编码；"
                                                      "单个重点场所时为其所在网格的编码")
    place_id: int | None = Field(None, ge=1, le=2_147_483_647, description="单个重点场所的编号（subject 须为 place）")
    period: Literal["day", "week", "month"] = Field(description="周期：day 每天、week 每周（周一 0 时起）、month 每月（北京时间）")
    min_count: int = Field(ge=0, le=31, description="每个周期至少有巡查的天数（每天至多 1，每周至多 7）；0：不要求")


class PlanListQuery(AreaFilter):
    pass


class BehindQuery(AreaFilter):
    subject: Literal["grid", "place"] | None = Field(None, description="只看网格（grid）或重点场所（place）")


def _radius() -> float:
    return current_app.config["GRIDMAP"].patrol.place_radius_m


@operation(bp, "/patrol-plans", "GET", summary="巡查计划（本辖区所设及上级所设的继承计划）", tag="patrol",
           scope=AREA, roles=READERS, query=PlanListQuery, response=ListResponse)
def list_plans(scope, query: PlanListQuery):
    return service.list_plans(get_session(), scope, within=query.within, limit=query.limit, offset=query.offset)


@operation(bp, "/patrol-plans", "PUT", summary="设置巡查计划（区域默认、网格或单个重点场所）", tag="patrol",
           scope=AREA, roles=EDITORS, body=PlanRequest, errors=(404, 422),
           data_errors=("patrol_plan_place_subject", "patrol_plan_count_too_high"),
           links={"DeletePatrolPlan": {"operationId": "delete_api_v1_patrol_plans_plan_id",
                                       "parameters": {"plan_id": "$response.body#/properties/id"}}})
def set_plan(scope, body: PlanRequest):
    return service.set_plan(get_session(), scope, body.model_dump())


@operation(bp, "/patrol-plans/<int:plan_id>", "DELETE", summary="删除巡查计划（改为继承上级）", tag="patrol",
           scope=AREA, roles=EDITORS, errors=(404,))
def delete_plan(scope, plan_id: int):
    return service.delete_plan(get_session(), scope, plan_id)


@operation(bp, "/patrol-plans/behind", "GET", summary="当前周期落后于巡查计划的网格和重点场所", tag="patrol",
           scope=AREA, roles=READERS, query=BehindQuery, response=ListResponse)
def behind(scope, query: BehindQuery):
    return service.behind(get_session(), scope, radius_m=_radius(), within=query.within, subject=query.subject or "",
                          limit=query.limit, offset=query.offset)
