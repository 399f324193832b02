"""Pages: a department's queue /department (报到 and feedback forms), the routing rules
/department-routes (read-only; the API edits them), and the targets of the 吹哨 and 撤回 forms on a
hazard's page (a refusal is shown on that page)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from pydantic import BaseModel, Field

from gridmap.auth.roles import ADMIN, DEPARTMENT, SUPERVISOR
from gridmap.auth.scope import AREA, AREA_DEPARTMENT, GLOBAL
from gridmap.departments import routing, service
from gridmap.errors import AppError, NotFound
from gridmap.hazards.api import uploaded_photos
from gridmap.hazards.pages import act_on_detail_page, form_version
from gridmap.hazards.photos import PhotoLimits
from gridmap.labels import label
from gridmap.messages import message
from gridmap.pages import page
from gridmap.web import check_csrf, get_session

bp = Blueprint("department_pages", __name__)


class QueuePageQuery(BaseModel):
    done: bool = Field(False, description="true：已反馈的")


def _queue(user, scope, done: bool, error: str | None = None, status: int = 200):
    session = get_session()
    department = service.department_name(session, scope)
    result = service.queue(session, scope, done=done)
    return render_template("department_queue.html", title=message("title_department_queue", department=department),
                           user=user, role_name=label(user.role, "role"), items=result["items"], done=done,
                           empty=message("empty_department_queue", department=department), error=error), status


@page(bp, "/department", summary="部门报到：本部门的交办事项", scope=AREA_DEPARTMENT, roles=(DEPARTMENT,),
      query=QueuePageQuery)
def queue(user, scope, query: QueuePageQuery):
    return _queue(user, scope, query.done)


def _limits() -> PhotoLimits:
    return PhotoLimits.of(current_app.config["GRIDMAP"])


@page(bp, "/department/assignments/<int:assignment_id>/report", summary="部门报到（表单）",
      scope=AREA_DEPARTMENT, roles=(DEPARTMENT,), methods=("POST",))
def report(user, scope, assignment_id: int):
    check_csrf()
    try:
        service.report_for_duty(get_session(), scope, assignment_id)
    except NotFound:
        raise
    except AppError as error:
        return _queue(user, scope, False, error=error.message, status=error.status)
    return redirect(url_for("department_pages.queue") + f"#a{assignment_id}")


@page(bp, "/department/assignments/<int:assignment_id>/feedback", summary="部门反馈（表单，可附照片）",
      scope=AREA_DEPARTMENT, roles=(DEPARTMENT,), methods=("POST",), max_body=lambda: _limits().body)
def feedback(user, scope, assignment_id: int):
    check_csrf()
    limits = _limits()
    uploads = uploaded_photos(limits)
    try:
        service.feed_back(get_session(), scope, assignment_id, note=request.form.get("note", "")[:2000],
                          uploads=uploads, limits=limits)
    except NotFound:
        raise
    except AppError as error:
        return _queue(user, scope, False, error=error.message, status=error.status)
    return redirect(url_for("department_pages.queue", done=1))


@page(bp, "/hazards/<int:hazard_id>/whistle", summary="吹哨交办部门（问题详情页表单）", scope=AREA,
      roles=(ADMIN, SUPERVISOR), methods=("POST",))
def whistle(user, scope, hazard_id: int):
    check_csrf()
    # no route, no department user, a stale page: said on the item's page
    return act_on_detail_page(user, scope, hazard_id, lambda: service.whistle(
        get_session(), scope, hazard_id, note=request.form.get("note", "")[:2000], version=form_version(),
        default_days=current_app.config["GRIDMAP"].duty_report_working_days))


@page(bp, "/hazards/<int:hazard_id>/recall", summary="撤回吹哨（问题详情页表单）", scope=AREA,
      roles=(ADMIN, SUPERVISOR), methods=("POST",))
def recall(user, scope, hazard_id: int):
    check_csrf()
    return act_on_detail_page(user, scope, hazard_id, lambda: service.recall(
        get_session(), scope, hazard_id, note=request.form.get("note", "")[:2000], version=form_version()))


@page(bp, "/department-routes", summary="分类归口交办规则（只读；接口 PUT /api/v1/department-routes 修改）", scope=GLOBAL,
      roles=(ADMIN, SUPERVISOR))
def routes(user, scope):
    session = get_session()
    return render_template("department_routes.html", title=message("title_department_routes"), user=user,
                           role_name=label(user.role, "role"), routes=routing.list_routes(session)["items"],
                           departments=routing.departments(session))
