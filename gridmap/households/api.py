"""Households of a grid, households outside every grid, and re-assignment."""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, Field

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN
from gridmap.auth.scope import AREA, AREA_OWN_CONTACTS, GLOBAL
from gridmap.households import assignment, service
from gridmap.schemas import AreaFilter, ListResponse, Page
from gridmap.web import get_session

bp = Blueprint("households_api", __name__)


class HouseholdQuery(Page):
    unmask: bool = Field(False, description="督导可申请查看完整姓名和电话（记入审计日志）")
    tag: str | None = Field(None, max_length=32, description="只看带此标签的住户")


class AssignResponse(BaseModel):
    assigned: int
    unassigned: int
    moved: int
    newly_assigned: int
    dropped: int


@operation(bp, "/grids/<code>/households", "GET", summary="网格内住户（按角色脱敏）", tag="households",
           scope=AREA_OWN_CONTACTS, query=HouseholdQuery, response=ListResponse, errors=(404,))
def grid_households(scope, code: str, query: HouseholdQuery):
    return service.grid_households(get_session(), scope, code, unmask=query.unmask, tag=query.tag,
                                   limit=query.limit, offset=query.offset)


@operation(bp, "/households/outside-grids", "GET", summary="不在任何网格内的住户", tag="households", scope=AREA,
           roles=(ADMIN, "supervisor", "planner"), query=AreaFilter, response=ListResponse)
def outside_grids(scope, query: AreaFilter):
    return service.outside_households(get_session(), scope, query.within, query.limit, query.offset)


@operation(bp, "/assign", "POST", summary="将全部住户重新分配到所在网格", tag="households", scope=GLOBAL,
           roles=(ADMIN,), response=AssignResponse)
def assign(scope):
    return assignment.assign_all(get_session()).as_dict()
