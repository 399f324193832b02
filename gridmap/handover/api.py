"""责任交接 (API.md "Handovers"): a grid's handovers listed, one read (masked per role, unmasked
reads audited), one taken on request. A change of the grid workers takes one by itself
(PUT /api/v1/grids/<code>/staff)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from pydantic import BaseModel, Field

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, GRID_WORKER, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.handover import service
from gridmap.schemas import ListResponse
from gridmap.web import get_session

bp = Blueprint("handover_api", __name__)

READERS = (ADMIN, SUPERVISOR, GRID_WORKER)
WRITERS = (ADMIN, SUPERVISOR)  # who may change the staff list


class HandoverQuery(BaseModel):
    unmask: bool = Field(False, description="督导可申请查看完整姓名和电话（记入审计日志）")


class HandoverSummary(BaseModel):
    id: int
    grid: str
    reason: str
    outgoing: str
    incoming: str
    created_by: str
    created_at: str


class HandoverResponse(HandoverSummary):
    snapshot: dict[str, Any]


@operation(bp, "/grids/<code>/handovers", "GET", summary="网格责任交接记录（新的在前）", tag="handover", scope=AREA,
           roles=READERS, response=ListResponse, errors=(404,))
def list_handovers(scope, code: str):
    return service.list_handovers(get_session(), scope, code)


@operation(bp, "/grids/<code>/handovers", "POST", summary="生成责任交接快照（网格员变更时自动生成）", tag="handover",
           scope=AREA, roles=WRITERS, response=HandoverSummary, response_status=201, errors=(404,))
def create_handover(scope, code: str):
    result = service.create(get_session(), scope, code, visit_tags=current_app.config["GRIDMAP"].patrol.visit_tags)
    return result, 201


@operation(bp, "/grids/<code>/handovers/<int:handover_id>", "GET", summary="一次责任交接的快照（按角色脱敏）",
           tag="handover", scope=AREA, roles=READERS, query=HandoverQuery, response=HandoverResponse, errors=(403, 404),
           data_errors=("handover_not_found",))
def read_handover(scope, code: str, handover_id: int, query: HandoverQuery):
    return service.read(get_session(), scope, code, handover_id, unmask=query.unmask)
