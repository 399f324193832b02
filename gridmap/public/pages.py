"""The residents' pages (no login): a grid's form /r/<grid code>, reached by the QR code on the wall
map, the handbook and the party-member cards, and a report's status /r/status/<tracking code>."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from gridmap.apidoc import PUBLIC
from gridmap.auth.roles import ADMIN, SUPERVISOR
from gridmap.auth.scope import AREA, PUBLIC_RULE
from gridmap.hazards.pages import _basemap
from gridmap.hazards.service import categories
from gridmap.labels import labels
from gridmap.maps.display import for_basemap
from gridmap.messages import message
from gridmap.pages import page
from gridmap.public import callback, service
from gridmap.public.api import DESCRIPTION_MAX
from gridmap.web import get_session

bp = Blueprint("public_pages", __name__)


@page(bp, "/r/<grid_code>", summary="居民吹哨：扫码反映问题（免登录）", scope=PUBLIC_RULE, roles=PUBLIC)
def report_form(grid_code: str):
    session = get_session()
    grid = service.grid(session, grid_code)
    settings = current_app.config["GRIDMAP"]
    config = {**_basemap(settings.tiles), "grid": grid["code"], "outline": for_basemap(grid["outline"], settings.tiles),
              "max_photos": settings.public_photo_max_count, "max_photo_mb": settings.hazard_photo_max_mb}
    return render_template("public_report.html", title=message("public_title", name=grid["name"]), grid=grid,
                           categories=categories(session), config=config, description_max=DESCRIPTION_MAX)


@page(bp, "/r/status/<tracking_code>", summary="居民凭查询码查看办理进度（免登录）", scope=PUBLIC_RULE, roles=PUBLIC)
def report_status(tracking_code: str):
    report = service.status(get_session(), tracking_code)
    return render_template("public_status.html", title=message("public_status_title"), report=report,
                           answer_names=labels("revisit_answer"))


@page(bp, "/hazards/<int:hazard_id>/revisit", summary="回访：居民的电话与答复记录（社区及以上人员）", scope=AREA,
      roles=(ADMIN, SUPERVISOR))
def revisit_page(user, scope, hazard_id: int):
    shown = callback.reporter_phone(get_session(), scope, hazard_id)
    return render_template("hazard_revisit.html", title=message("title_hazard_revisit", code=shown["hazard"]["code"]),
                           user=user, hazard=shown["hazard"], phone=shown["phone"], masked=shown["masked"],
                           answer_names=labels("revisit_answer"))
