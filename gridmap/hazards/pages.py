"""Pages: the work queue /hazards, a hazard's timeline with its allowed actions, /maps/hazards."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from pydantic import BaseModel, Field

from gridmap.auth.roles import ADMIN, GRID_WORKER, STAFF, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.errors import AppError, NotFound
from gridmap.hazards import photos, service
from gridmap.hazards.models import OPEN_STATUSES
from gridmap.labels import label, labels
from gridmap.maps.display import display_crs
from gridmap.messages import message
from gridmap.pages import page
from gridmap.schemas import MONTH_PATTERN
from gridmap.web import check_csrf, get_session

bp = Blueprint("hazard_pages", __name__)

# The roles of the API operations each page stands for (GET /api/v1/hazards, POST /api/v1/hazards…).
READERS = STAFF
HANDLERS = (ADMIN, SUPERVISOR, GRID_WORKER)
WITHIN = Field("", pattern=r"^[0-9]{0,24}$", description="区域编码前缀（空：全部）")


class QueueQuery(BaseModel):
    status: str = Field("open", pattern="^(open|all|" + "|".join(labels("hazard_status")) + ")$")
    within: str = WITHIN
    category: str = Field("", max_length=32)
    overdue: bool = False


class NewHazardQuery(BaseModel):
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: str = Field("", max_length=32)


class SafetyPageQuery(BaseModel):
    month: str = Field("", pattern=rf"^$|{MONTH_PATTERN}", description="月份 YYYY-MM（空：本月）")
    within: str = WITHIN


class HeatmapPageQuery(BaseModel):
    category: str = Field("", max_length=32)


def _calendar_note(session, years: set[int]) -> str | None:
    missing = service.fallback_years(session, years)
    return message("calendar_fallback", years="、".join(str(y) for y in missing)) if missing else None


def _common(user) -> dict:
    return {"user": user, "role_name": label(user.role, "role"), "status_names": labels("hazard_status"),
            "action_names": labels("hazard_action"), "level_names": labels("level")}


@page(bp, "/hazards", summary="问题工作台", scope=AREA, roles=READERS, query=QueueQuery)
def queue(user, scope, query: QueueQuery):
    """The work queue: overdue first, then by the next deadline; filters by status, category, area."""
    session = get_session()
    status = query.status
    statuses = list(OPEN_STATUSES) if status == "open" else ([status] if status in labels("hazard_status") else None)
    within = query.within or None
    category = query.category or None
    overdue = True if query.overdue else None
    result = service.list_hazards(session, scope, within=within, statuses=statuses, category=category,
                                  overdue=overdue, limit=200)
    items = [feature["properties"] for feature in result["features"]]
    years = {datetime.now(UTC).year} | {int(i["deadlines"]["resolve_by"][:4]) for i in items}
    return render_template(
        "hazards.html", title="问题工作台", items=items, total=result["total"],
        categories=service.categories(session), filters={"status": status, "within": within or "",
                                                           "category": category or "", "overdue": bool(overdue)},
        calendar_note=_calendar_note(session, years), **_common(user))


@page(bp, "/hazards/new", summary="上报问题", scope=AREA, roles=HANDLERS, query=NewHazardQuery)
def new(user, scope, query: NewHazardQuery):
    """上报问题（手机可用）：当前位置或在小地图上点选，类别、紧急程度、描述、照片；提交前显示 50 米内疑似重复。"""
    from gridmap.areas import service as areas
    from gridmap.maps.assets import tiles_are_gcj02
    from gridmap.maps.display import for_basemap

    session = get_session()
    tiles = current_app.config["GRIDMAP"].tiles
    grids = areas.list_grids(session, scope, None, None, limit=2000, offset=0)
    outlines = for_basemap({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g["geometry"], "properties": {"code": g["properties"]["code"],
                                                                      "name": g["properties"]["name"]}}
        for g in grids["features"] if g.get("geometry")]}, tiles)
    prefill = {}
    if query.lon is not None and query.lat is not None:
        prefill = {"lon": query.lon, "lat": query.lat, "crs": query.crs or "wgs84"}
    from gridmap.maps.assets import GAODE_SUBDOMAINS, GAODE_TILES

    config = {"tiles": None if tiles in (None, "", "none") else (GAODE_TILES if tiles_are_gcj02(tiles) else tiles),
              "subdomains": GAODE_SUBDOMAINS if tiles_are_gcj02(tiles) else "abc",
              "map_crs": display_crs(tiles), "grids": outlines, "prefill": prefill,
              "max_photo_mb": round(photos.max_bytes() / 1024 / 1024, 1)}
    return render_template("hazard_new.html", title="上报问题", categories=service.categories(session),
                           config=config, **_common(user))


def _detail(user, scope, hazard_id: int, error: str | None = None, status: int = 200):
    session = get_session()
    hazard = service.get_hazard(session, scope, hazard_id)
    years = {int(hazard["deadlines"]["accept_by"][:4]), int(hazard["deadlines"]["resolve_by"][:4])}
    note = _calendar_note(session, years) if hazard["calendar"] == "fallback" else None
    candidates = service.assignee_candidates(session, hazard["grid"]["code"]) if "assign" in hazard[
        "allowed_actions"] else []
    return render_template("hazard_detail.html", title=f"问题 {hazard['code']}", hazard=hazard, error=error,
                           candidates=candidates, calendar_note=note, **_common(user)), status


@page(bp, "/hazards/<int:hazard_id>", summary="问题详情（时间线、可做的操作、照片）", scope=AREA, roles=READERS)
def detail(user, scope, hazard_id: int):
    return _detail(user, scope, hazard_id)


@page(bp, "/hazards/<int:hazard_id>/actions", summary="问题流转操作（详情页表单）", scope=AREA, roles=HANDLERS,
      methods=("POST",))
def act(user, scope, hazard_id: int):
    check_csrf()
    version = request.form.get("version", "")
    try:
        service.act(get_session(), scope, hazard_id, request.form.get("action", ""), request.form.get("note", ""),
                    request.form.get("assignee") or None, int(version) if version.isdigit() else None)
    except NotFound:
        raise
    except AppError as error:
        return _detail(user, scope, hazard_id, error=error.message, status=error.status)
    return redirect(url_for("hazard_pages.detail", hazard_id=hazard_id))


@page(bp, "/hazards/<int:hazard_id>/photos", summary="上传问题照片（详情页表单）", scope=AREA, roles=HANDLERS,
      methods=("POST",), max_body=photos.body_limit)
def add_photos(user, scope, hazard_id: int):
    """照片上传表单（详情页）：JPEG/PNG，去除 EXIF 后保存。"""
    check_csrf()
    limit = photos.max_bytes()
    uploads = [u.stream.read(limit + 1) for u in request.files.getlist("file") if u and u.filename]
    try:
        photos.add_photos(get_session(), scope, hazard_id, uploads)
    except NotFound:
        raise
    except AppError as error:
        return _detail(user, scope, hazard_id, error=error.message, status=error.status)
    return redirect(url_for("hazard_pages.detail", hazard_id=hazard_id))


@page(bp, "/reports/safety", summary="平安报表", scope=AREA, roles=(ADMIN, SUPERVISOR), query=SafetyPageQuery)
def safety_report(user, scope, query: SafetyPageQuery):
    """平安报表：按月、按区域，网格/社区/街道的发现、办结、按期、超期、处置时长、巡查覆盖，红黄绿与排名。"""
    from gridmap.hazards import report

    session = get_session()
    month = query.month or None
    within = query.within or None
    result = report.safety_report(session, scope, within=within, month=month,
                                  patrol_rules=current_app.config["GRIDMAP"].patrol,
                                  overrides=current_app.config.get("HAZARD_SAFETY_THRESHOLDS"))
    query = f"month={result['month']}" + (f"&within={within}" if within else "")
    return render_template("safety_report.html", title=f"平安报表 {result['month']}", report=result,
                           within=within or "", areas=report.area_options(session, scope), query=query,
                           colour_names=labels("colour"), **_common(user))


@page(bp, "/maps/hazards", summary="问题隐患热力图", scope=AREA, roles=READERS, query=HeatmapPageQuery)
def heatmap_page(user, scope, query: HeatmapPageQuery):
    """Density of hazards (computed in the database) and the open ones as clustered markers."""
    from gridmap.hazards.heatmap import heatmap_cells
    from gridmap.maps.hazards import build_hazard_map
    from gridmap.pages import map_parts

    session = get_session()
    category = query.category or None
    cells = heatmap_cells(session, scope, bbox=None, zoom=13, category=category)
    open_ones = service.list_hazards(session, scope, statuses=list(OPEN_STATUSES), category=category, limit=2000)
    tiles = current_app.config["GRIDMAP"].tiles
    fmap = build_hazard_map(cells["cells"], open_ones, title="问题隐患热力图", tiles=tiles)
    config = {**fmap.gridmap_layers, "category": category or "", "map_crs": display_crs(tiles)}
    return render_template("hazards_map.html", title="问题隐患热力图", user=user, role_name=label(user.role, "role"),
                           heat_config=config,
                           open_count=open_ones["total"], cell_count=len(cells["cells"]), category=category or "",
                           categories=service.categories(session), **map_parts(fmap))
