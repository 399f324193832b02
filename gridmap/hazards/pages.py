"""Pages: the work queue /hazards, the report form, a hazard's timeline with its allowed actions."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from pydantic import BaseModel, Field

from gridmap.auth.roles import ADMIN, GRID_WORKER, STAFF, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.config import GAODE_SUBDOMAINS, GAODE_TILES, tiles_are_gcj02
from gridmap.errors import AppError, NotFound
from gridmap.hazards import photos, service, views, workflow
from gridmap.hazards.api import photo_body_limit, photo_limits, uploaded_photos
from gridmap.hazards.models import STATUSES
from gridmap.labels import label, labels
from gridmap.maps.display import display_crs, for_basemap
from gridmap.messages import message
from gridmap.pages import page
from gridmap.web import check_csrf, get_session

bp = Blueprint("hazard_pages", __name__)

# The roles of the API operations each page stands for (GET /api/v1/hazards, POST /api/v1/hazards…).
READERS = STAFF
HANDLERS = (ADMIN, SUPERVISOR, GRID_WORKER)


class QueueQuery(BaseModel):
    status: str = Field("open", pattern="^(open|all|" + "|".join(STATUSES) + ")$")
    within: str = Field("", pattern=r"^[0-9]{0,24}$", description="区域编码前缀（空：全部）")
    category: str = Field("", max_length=32)
    overdue: bool = False
    resolution: str = Field("", pattern="^(|on_the_spot)$", description="on_the_spot：只看就地解决的")
    sample: str = Field("", pattern="^(|[1-9][0-9]?|100)$", description="随机抽取的件数（抽查；空：不抽查）")


class NewHazardQuery(BaseModel):
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: str = Field("", max_length=32)


def _calendar_note(years: list[int]) -> str | None:
    return message("calendar_fallback", years="、".join(str(y) for y in years)) if years else None


def _common(user) -> dict:
    return {"user": user, "role_name": label(user.role, "role"), "status_names": labels("hazard_status"),
            "action_names": labels("hazard_action"), "level_names": labels("level"),
            "answer_names": labels("revisit_answer")}


def _basemap(tiles: str | None) -> dict:
    """The report form's own map (static/js): its tiles and the CRS they are drawn in."""
    gaode = tiles_are_gcj02(tiles)
    return {"tiles": None if tiles in (None, "", "none") else (GAODE_TILES if gaode else tiles),
            "subdomains": GAODE_SUBDOMAINS if gaode else "abc", "map_crs": display_crs(tiles)}


@page(bp, "/hazards", summary="问题工作台", scope=AREA, roles=READERS, query=QueueQuery)
def queue(user, scope, query: QueueQuery):
    """The work queue: overdue first, then by the next deadline; filters by status, category, area."""
    result = views.work_queue(get_session(), scope, status=query.status, within=query.within,
                                category=query.category, overdue=query.overdue, resolution=query.resolution,
                                sample=int(query.sample) if query.sample else None)
    filters = {"status": query.status, "within": query.within, "category": query.category,
               "overdue": query.overdue, "resolution": query.resolution, "sample": query.sample}
    return render_template("hazards.html", title=message("title_hazard_queue"), items=result["items"],
                           total=result["total"], categories=result["categories"], filters=filters,
                           calendar_note=_calendar_note(result["fallback_years"]), **_common(user))


@page(bp, "/hazards/new", summary="上报问题", scope=AREA, roles=HANDLERS, query=NewHazardQuery)
def new(user, scope, query: NewHazardQuery):
    """上报问题（手机可用）：当前位置或在小地图上点选，类别、紧急程度、描述、照片；提交前显示 50 米内疑似重复。"""
    form = views.report_form(get_session(), scope)
    tiles = current_app.config["GRIDMAP"].tiles
    prefill = {}
    if query.lon is not None and query.lat is not None:
        prefill = {"lon": query.lon, "lat": query.lat, "crs": query.crs or "wgs84"}
    config = {**_basemap(tiles), "grids": for_basemap(form["grids"], tiles), "prefill": prefill,
              "max_photo_mb": round(photo_limits().max_bytes / 1024 / 1024, 1)}
    return render_template("hazard_new.html", title=message("title_hazard_new"), categories=form["categories"],
                           config=config, **_common(user))


def detail_page(user, scope, hazard_id: int, error: str | None = None, status: int = 200):
    """A hazard's page, with ``error`` (a refused action) said on it; also the departments' forms'."""
    shown = views.hazard_page(get_session(), scope, hazard_id)
    hazard = shown["hazard"]
    return render_template("hazard_detail.html", title=message("title_hazard_detail", code=hazard["code"]),
                           hazard=hazard, error=error, candidates=shown["candidates"],
                           note_required=workflow.NOTE_REQUIRED,
                           calendar_note=_calendar_note(shown["fallback_years"]), **_common(user)), status


def form_version() -> int | None:
    """The version the form's page was read at (a stale page gets 409), if it sent one."""
    version = request.form.get("version", "")
    return int(version) if version.isdigit() else None


def act_on_detail_page(user, scope, hazard_id: int, write: Callable[[], object]):
    """A form's write on a hazard: back to its page, or the page again with the refusal said on
    it (404 stays a 404); also the departments' forms'."""
    try:
        write()
    except NotFound:
        raise
    except AppError as error:
        return detail_page(user, scope, hazard_id, error=error.message, status=error.status)
    return redirect(url_for("hazard_pages.detail", hazard_id=hazard_id))


@page(bp, "/hazards/<int:hazard_id>", summary="问题详情（时间线、可做的操作、照片）", scope=AREA, roles=READERS)
def detail(user, scope, hazard_id: int):
    return detail_page(user, scope, hazard_id)


@page(bp, "/hazards/<int:hazard_id>/actions", summary="问题流转操作（详情页表单）", scope=AREA, roles=HANDLERS,
      methods=("POST",))
def act(user, scope, hazard_id: int):
    check_csrf()
    return act_on_detail_page(user, scope, hazard_id, lambda: service.act(
        get_session(), scope, hazard_id, request.form.get("action", ""), request.form.get("note", ""),
        request.form.get("assignee") or None, form_version(),
        answer=request.form.get("answer") or None, reply=request.form.get("reply", "").strip()[:1000] or None))


@page(bp, "/hazards/<int:hazard_id>/photos", summary="上传问题照片（详情页表单）", scope=AREA, roles=HANDLERS,
      methods=("POST",), max_body=photo_body_limit)
def add_photos(user, scope, hazard_id: int):
    """照片上传表单（详情页）：JPEG/PNG，去除 EXIF 后保存。"""
    check_csrf()
    limits = photo_limits()
    return act_on_detail_page(user, scope, hazard_id, lambda: photos.add_photos(
        get_session(), scope, hazard_id, uploaded_photos(limits), limits))
