"""Party members, their contact lists and a grid's staff (API.md "Households and party members")."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, GRID_ROLES, GRID_WORKER, SUPERVISOR
from gridmap.auth.scope import AREA, AREA_OWN_CONTACTS
from gridmap.handover.service import staff_change_hook
from gridmap.messages import message
from gridmap.party import service
from gridmap.schemas import Crs, Lat, ListResponse, Lon
from gridmap.web import get_session

bp = Blueprint("party_api", __name__)

EDITORS = (ADMIN, SUPERVISOR, GRID_WORKER)


class ContactListRequest(BaseModel):
    max_per_member: int = Field(service.DEFAULT_MAX_PER_MEMBER, ge=1, le=100,
                                description="每名党员最多联系的住户数")


class ContactMember(BaseModel):
    id: int
    name: str
    households: list[str]


class ContactListResponse(BaseModel):
    members: list[ContactMember]
    uncovered: list[str]
    max_per_member: int


class UnmaskQuery(BaseModel):
    unmask: bool = Field(False, description="督导可申请查看完整姓名和电话（记入审计日志）")


class MemberHouseholdsResponse(BaseModel):
    member: dict[str, object]
    items: list[dict[str, object]]
    total: int
    masked: bool


# Where a member lives, stated for clients (the model validator and the service check it): lon
# and lat together or neither (400); a new member needs them or a household (422 otherwise).
_POINT = {"required": ["lon", "lat"], "properties": {"lon": {"type": "number"}, "lat": {"type": "number"}}}
_NO_POINT = {"properties": {"lon": {"type": "null"}, "lat": {"type": "null"}}}
_AT_HOUSEHOLD = {"required": ["household_code"],
                 "properties": {**_NO_POINT["properties"], "household_code": {"type": "string", "minLength": 1}}}


class MemberFields(BaseModel):
    model_config = ConfigDict(json_schema_extra={"anyOf": [_POINT, _NO_POINT]})

    name: str = Field(None, min_length=1, max_length=64, description="姓名（修改时可省略，不可为 null）")
    phone: str | None = Field(None, max_length=32)
    branch: str | None = Field(None, max_length=128)
    lon: Lon | None = None
    lat: Lat | None = None
    crs: Crs = None
    household_code: str | None = Field(None, max_length=64, description="党员所住住户的户号（代替经纬度）")

    @model_validator(mode="after")
    def _both_coordinates(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError(message("lon_lat_together"))
        return self


class NewMember(MemberFields):
    model_config = ConfigDict(json_schema_extra={"anyOf": [_POINT, _AT_HOUSEHOLD]})

    name: str = Field(min_length=1, max_length=64)


class Member(BaseModel):
    id: int
    name: str
    phone: str | None
    branch: str | None
    lon: float | None
    lat: float | None
    grid: str | None
    household: str | None
    households: int


class ContactRequest(BaseModel):
    pinned: bool = Field(True, description="固定：重新计算联系户时保留")
    cross_grid: bool = Field(False, description="督导确认跨网格联系：住户不在党员所在网格时须为 true，仅督导和管理员可用"
                                                 "（其他角色为 403）；该住户的个人信息按其所在网格脱敏")


class StaffPerson(BaseModel):
    role: Literal["grid_leader", "grid_worker", "police", "department", "other"]
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(None, max_length=32)
    organisation: str | None = Field(None, max_length=128)
    duty: str | None = Field(None, max_length=256)


class StaffRequest(BaseModel):
    items: list[StaffPerson] = Field(max_length=100)


@operation(bp, "/grids/<code>/party-contacts", "POST", summary="计算网格党员联系户（容量约束下总距离最短）",
           tag="party", scope=AREA, roles=EDITORS, body=ContactListRequest, response=ContactListResponse, errors=(404,))
def party_contacts(scope, code: str, body: ContactListRequest):
    return service.build_contact_lists(get_session(), scope, code, body.max_per_member)


@operation(bp, "/grids/<code>/party-members", "GET", summary="网格内党员", tag="party", scope=AREA_OWN_CONTACTS,
           roles=GRID_ROLES, response=ListResponse, errors=(404,))
def grid_party_members(scope, code: str):
    return service.grid_members(get_session(), scope, code)


@operation(bp, "/party-members", "POST", summary="新增党员", tag="party", scope=AREA, roles=EDITORS, body=NewMember,
           response=Member, response_status=201, errors=(422,),
           data_errors=("invalid_crs", "household_not_found", "party_member_out_of_scope"),
           links={"GetMember": {"operationId": "get_api_v1_party_members_member_id", "parameters": {"member_id": "$response.body#/id"}},
                  "MemberHouseholds": {"operationId": "get_api_v1_party_members_member_id_households",
                                       "parameters": {"member_id": "$response.body#/id"}}})
def create_party_member(scope, body: NewMember):
    return service.create_member(get_session(), scope, body.model_dump()), 201


@operation(bp, "/party-members/<int:member_id>", "GET", summary="党员详情", tag="party", scope=AREA_OWN_CONTACTS,
           roles=GRID_ROLES, response=Member, errors=(404,))
def party_member(scope, member_id: int):
    return service.get_member(get_session(), scope, member_id)


@operation(bp, "/party-members/<int:member_id>", "PATCH", summary="修改党员信息", tag="party", scope=AREA,
           roles=EDITORS, body=MemberFields, response=Member, errors=(404, 422),
           data_errors=("invalid_crs", "household_not_found", "party_member_out_of_scope"))
def update_party_member(scope, member_id: int, body: MemberFields):
    return service.update_member(get_session(), scope, member_id, body.model_dump(exclude_unset=True))


@operation(bp, "/party-members/<int:member_id>/households", "GET", summary="党员联系的住户（按角色脱敏）", tag="party",
           scope=AREA_OWN_CONTACTS, roles=GRID_ROLES, query=UnmaskQuery, response=MemberHouseholdsResponse,
           errors=(404,))
def party_member_households(scope, member_id: int, query: UnmaskQuery):
    return service.member_households(get_session(), scope, member_id, unmask=query.unmask)


@operation(bp, "/party-members/<int:member_id>/households/<household_code>", "PUT",
           summary="指定党员联系某户（默认固定；住户须在党员所在网格，督导可确认跨网格）", tag="party", scope=AREA,
           roles=EDITORS, body=ContactRequest, errors=(403, 404, 422))
def set_party_contact(scope, member_id: int, household_code: str, body: ContactRequest):
    return service.set_contact(get_session(), scope, member_id, household_code, body.pinned, body.cross_grid)


@operation(bp, "/party-members/<int:member_id>/households/<household_code>", "DELETE",
           summary="取消党员联系某户", tag="party", scope=AREA, roles=EDITORS, errors=(404,))
def remove_party_contact(scope, member_id: int, household_code: str):
    return service.remove_contact(get_session(), scope, member_id, household_code)


@operation(bp, "/grids/<code>/staff", "GET", summary="网格干部（网格长、网格员、民警、部门人员）", tag="party",
           scope=AREA, roles=GRID_ROLES, response=ListResponse, errors=(404,))
def grid_staff(scope, code: str):
    return service.grid_staff(get_session(), scope, code)


@operation(bp, "/grids/<code>/staff", "PUT", summary="设置网格干部名单", tag="party", scope=AREA,
           roles=(ADMIN, SUPERVISOR), body=StaffRequest, response=ListResponse, errors=(404,))
def replace_grid_staff(scope, code: str, body: StaffRequest):
    """A change of the grid workers also takes the grid's 责任交接 snapshot (gridmap.handover)."""
    session = get_session()
    hook = staff_change_hook(session, scope, code, visit_tags=current_app.config["GRIDMAP"].patrol.visit_tags)
    return service.replace_grid_staff(session, scope, code, [p.model_dump() for p in body.items], on_change=hook)
