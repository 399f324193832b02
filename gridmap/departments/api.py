"""吹哨报到 (API.md "Departments"): departments and routing rules (admin edits, supervisors read),
the whistle, a department's queue, 报到, feedback and photos, and the department ranking."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from pydantic import BaseModel, Field

from gridmap.apidoc import NO_NUL, operation, parse_model
from gridmap.auth.roles import ADMIN, DEPARTMENT, SUPERVISOR
from gridmap.auth.scope import AREA, AREA_DEPARTMENT, GLOBAL
from gridmap.clock import month_bounds, parse_month, this_month, today
from gridmap.departments import ranking, routing, service
from gridmap.hazards.api import photo_response, uploaded_photos
from gridmap.hazards.photos import PhotoLimits
from gridmap.schemas import CODE_PATTERN, SOME_TEXT, Month
from gridmap.web import get_session

bp = Blueprint("departments_api", __name__)
MANAGERS = (ADMIN, SUPERVISOR)


class RouteQuery(BaseModel):
    category: str | None = Field(None, max_length=32, description="只看这一类别的规则")


class RouteBody(BaseModel):
    category: str = Field(min_length=1, max_length=32, description="问题类别编码")
    area: str = Field("", pattern=r"^([0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})?$",
                      description="区域编码前缀（空：全市）；最长的匹配前缀优先")
    departments: list[str] = Field(max_length=20, description="部门编码；空列表删除该类别在该区域的规则")
    name: str = Field("", max_length=200, description="规则名称或依据（如“三定”方案条款）")
    report_working_days: int | None = Field(None, ge=0, le=30, description="报到期限（工作日）；空：按系统设置")


class ListResponse(BaseModel):
    items: list[dict[str, Any]]
    total: int


class WhistleBody(BaseModel):
    note: str = Field("", max_length=2000, description="吹哨说明（交办要求）")
    version: int | None = Field(None, description="读取时的版本号；已变化时返回 409")


class WhistleResponse(BaseModel):
    id: int
    status: str
    assignments: list[dict[str, Any]] = Field(description="各部门及其报到期限")


class AssignmentResponse(BaseModel):
    id: int
    hazard_id: int
    state: str = Field(description="waiting 待报到、reported 已报到、fed_back 已反馈")
    report_by: str
    overdue: bool


class QueueQuery(BaseModel):
    done: bool = Field(False, description="true：已反馈的（默认：待报到、已报到待反馈的）")


class RankingQuery(BaseModel):
    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀")
    month: Month | None = Field(None, description="月份 YYYY-MM（默认本月）")


@operation(bp, "/departments", "GET", summary="职能部门及其负责的问题类别", tag="departments", scope=GLOBAL,
           roles=MANAGERS, response=ListResponse)
def list_departments(scope):
    items = routing.departments(get_session())
    return {"items": items, "total": len(items)}


@operation(bp, "/department-routes", "GET", summary="分类归口交办规则（类别 × 区域 → 部门）", tag="departments",
           scope=GLOBAL, roles=MANAGERS, query=RouteQuery, response=ListResponse)
def list_routes(scope, query: RouteQuery):
    return routing.list_routes(get_session(), query.category)


@operation(bp, "/department-routes", "PUT", summary="设置某类别在某区域的归口部门（替换原有规则）",
           tag="departments", scope=GLOBAL, roles=(ADMIN,), body=RouteBody, response=ListResponse, errors=(422,),
           data_errors=("hazard_category_unknown", "department_unknown", "department_category_not_owned",
                        "department_route_area_unknown"))
def set_routes(scope, body: RouteBody):
    return routing.set_routes(get_session(), category=body.category, area=body.area,
                              department_codes=body.departments, name=body.name,
                              report_working_days=body.report_working_days)


@operation(bp, "/department-routes/<int:route_id>", "DELETE", summary="删除一条交办规则", tag="departments",
           scope=GLOBAL, roles=(ADMIN,), response_status=204, errors=(404,))
def delete_route(scope, route_id: int):
    routing.delete_route(get_session(), route_id)
    return "", 204


@operation(bp, "/hazards/<int:hazard_id>/whistle", "POST",
           summary="吹哨：按类别和区域交办归口部门（各部门限期报到）", tag="departments", scope=AREA, roles=MANAGERS,
           body=WhistleBody, response=WhistleResponse, errors=(403, 404, 409, 422),
           data_errors=("department_no_route", "department_no_user"))
def whistle(scope, hazard_id: int, body: WhistleBody):
    return service.whistle(get_session(), scope, hazard_id, note=body.note, version=body.version,
                           default_days=current_app.config["GRIDMAP"].duty_report_working_days)


class RecallBody(BaseModel):
    note: str = Field(min_length=1, max_length=2000, pattern=SOME_TEXT, description="撤回原因（必填）")
    version: int | None = Field(None, description="读取时的版本号；已变化时返回 409")


@operation(bp, "/hazards/<int:hazard_id>/recall", "POST",
           summary="撤回吹哨：尚无部门报到时收回交办，事项回到吹哨前的状态", tag="departments", scope=AREA,
           roles=MANAGERS, body=RecallBody, response=WhistleResponse, errors=(403, 404, 409, 422),
           data_errors=("whistle_recall_reported",))
def recall(scope, hazard_id: int, body: RecallBody):
    return {**service.recall(get_session(), scope, hazard_id, note=body.note, version=body.version),
            "assignments": []}


@operation(bp, "/department/queue", "GET", summary="本部门的交办事项（报到期限、超期优先）", tag="departments",
           scope=AREA_DEPARTMENT, roles=(DEPARTMENT,), query=QueueQuery, response=ListResponse)
def department_queue(scope, query: QueueQuery):
    return service.queue(get_session(), scope, done=query.done)


@operation(bp, "/department/assignments/<int:assignment_id>/report", "POST", summary="部门报到（接收交办事项）",
           tag="departments", scope=AREA_DEPARTMENT, roles=(DEPARTMENT,), response=AssignmentResponse, errors=(404, 409))
def report_for_duty(scope, assignment_id: int):
    return service.report_for_duty(get_session(), scope, assignment_id)


def _limits() -> PhotoLimits:
    return PhotoLimits.of(current_app.config["GRIDMAP"])


class FeedbackForm(BaseModel):
    note: str = Field(max_length=2000, description="办理情况")


FEEDBACK_FORM = {"note": {"type": "string", "maxLength": 2000, "pattern": NO_NUL, "x-required": True,
                          "description": FeedbackForm.model_fields["note"].description},
                 "file": "file"}


@operation(bp, "/department/assignments/<int:assignment_id>/feedback", "POST",
           summary="部门反馈办理情况（可附照片，去除 EXIF）；各部门都反馈后转社区核查", tag="departments",
           scope=AREA_DEPARTMENT, roles=(DEPARTMENT,), form=FEEDBACK_FORM, response=AssignmentResponse,
           errors=(404, 409, 413, 422),
           max_body=lambda: _limits().body,
           data_errors=("hazard_photo_type", "hazard_photo_invalid", "hazard_photo_too_many",
                        "assignment_feedback_required"))
def feedback(scope, assignment_id: int):
    fields = parse_model(FeedbackForm, {"note": request.form.get("note", "")})
    limits = _limits()
    uploads = uploaded_photos(limits)
    return service.feed_back(get_session(), scope, assignment_id, note=fields.note, uploads=uploads, limits=limits)


@operation(bp, "/department/assignments/<int:assignment_id>/photos/<int:n>", "GET",
           summary="交办事项的照片（本部门的事项）", tag="departments", scope=AREA_DEPARTMENT, roles=(DEPARTMENT,),
           errors=(404,), content_types=("image/jpeg", "image/png"))
def assignment_photo(scope, assignment_id: int, n: int):
    return photo_response(*service.photo(get_session(), scope, assignment_id, n))


@operation(bp, "/reports/departments", "GET", summary="平安报表·部门报到排名（按时报到率、办结率）",
           tag="reports", scope=AREA, roles=MANAGERS, query=RankingQuery, response=ListResponse)
def department_ranking(scope, query: RankingQuery):
    month = parse_month(query.month) if query.month else this_month(today())
    start, end = month_bounds(month)
    items = ranking.department_ranking(get_session(), scope, within=query.within, start=start, end=end)
    return {"month": f"{month:%Y-%m}", "items": items, "total": len(items)}
