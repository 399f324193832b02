"""The patrol plan page (/patrol-plans): supervisors set how often the grids and key places of
their area are patrolled, see what is inherited and where each stands this period; the form
posts to /patrol-plans/edit (the same rules as PUT and DELETE /api/v1/patrol-plans)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from pydantic import BaseModel, Field

from gridmap.apidoc import parse_model
from gridmap.areas.service import area_label
from gridmap.auth.scope import AREA
from gridmap.errors import BadRequest
from gridmap.labels import label
from gridmap.messages import message
from gridmap.pages import page
from gridmap.patrol_plan import service
from gridmap.patrol_plan.api import EDITORS, PlanRequest
from gridmap.schemas import CODE_PATTERN
from gridmap.web import check_csrf, get_session

bp = Blueprint("patrol_plan_pages", __name__)

STATUS_ROWS = 1000


class PlanPageQuery(BaseModel):
    within: str = Field("", pattern=rf"^$|{CODE_PATTERN}", description="区域编码前缀（空：全部）")
    done: str = Field("", pattern=r"^(|saved|removed)$", description="刚保存（saved）或删除（removed）后的提示")


@page(bp, "/patrol-plans", summary="巡查计划", scope=AREA, roles=EDITORS, query=PlanPageQuery)
def plans_page(user, scope, query: PlanPageQuery):
    """巡查计划：设置网格巡查和重点场所走访的周期与天数（区域默认、网格、单个场所），
    并看本周期各网格、场所完成多少。"""
    session, within = get_session(), query.within or None
    radius = current_app.config["GRIDMAP"].patrol.place_radius_m
    status = service.behind(session, scope, radius_m=radius, within=within, behind_only=False, limit=STATUS_ROWS)
    return render_template(
        "patrol_plans.html", title=message("patrol_plans_title", area=area_label(session, within or scope.prefix)),
        user=user, role_name=label(user.role, "role"), within=within or "",
        plans=service.list_plans(session, scope, within=within, limit=1000)["items"],
        targets=service.plan_targets(session, scope), status=status, radius=int(radius),
        notice=message(f"patrol_plan_{query.done}") if query.done else None)


@page(bp, "/patrol-plans/edit", summary="设置或删除巡查计划（巡查计划页的表单）", scope=AREA, roles=EDITORS,
      methods=("POST",))
def plans_form(user, scope):
    check_csrf()
    form = request.form
    within = form.get("within", "")
    if form.get("action") == "delete":
        plan_id = form.get("plan_id", "")
        if not plan_id.isdigit() or len(plan_id) > 9:
            raise BadRequest("validation_failed", details={"errors": [{"field": "plan_id", "message": plan_id}]})
        service.delete_plan(get_session(), scope, int(plan_id))
        done = "removed"
    else:
        body = parse_model(PlanRequest, {key: form.get(key) or None for key in PlanRequest.model_fields})
        service.set_plan(get_session(), scope, body.model_dump())
        done = "saved"
    return redirect(url_for("patrol_plan_pages.plans_page", within=within or None, done=done), code=303)
