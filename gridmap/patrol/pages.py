"""Patrol pages: the phone check-in page /patrol (offline first) and its service worker."""

from __future__ import annotations

from flask import Blueprint, render_template, send_file
from pydantic import BaseModel, Field

from gridmap.config import STATIC_DIR
from gridmap.apidoc import PUBLIC
from gridmap.auth.scope import ANYONE, AREA_OWN_RECORDS
from gridmap.clock import DAY_PATTERN, day_or_today
from gridmap.errors import NotFound
from gridmap.labels import label
from gridmap.pages import page
from gridmap.patrol.api import CHECKIN_ROLES

bp = Blueprint("patrol_pages", __name__)

SERVICE_WORKER = STATIC_DIR / "patrol-sw.js"


class PatrolMapQuery(BaseModel):
    within: str = Field("", pattern=r"^[0-9]{0,24}$", description="区域编码前缀（空：全部）")
    date: str = Field("", pattern=rf"^$|{DAY_PATTERN}", description="日期 YYYY-MM-DD（北京时间，空：今天）")


@page(bp, "/patrol", summary="巡查打卡（手机）", scope=AREA_OWN_RECORDS, roles=CHECKIN_ROLES)
def patrol(user, scope):
    """手机巡查打卡：定位、所在网格、一键打卡、走访住户、备注；离线时先存在手机上。"""
    return render_template("patrol.html", title="巡查打卡", user=user, role_name=label(user.role, "role"))


@page(bp, "/patrol/sw.js", summary="巡查打卡页的离线脚本（service worker）", scope=ANYONE, roles=PUBLIC)
def service_worker():
    """The service worker, served under /patrol so its scope may cover the page itself."""
    response = send_file(SERVICE_WORKER, mimetype="application/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/patrol"
    response.headers["Cache-Control"] = "no-cache"
    return response


@page(bp, "/maps/patrol", summary="巡查轨迹", scope=AREA_OWN_RECORDS, roles=CHECKIN_ROLES, query=PatrolMapQuery)
def patrol_map(user, scope, query: PatrolMapQuery):
    """今日巡查：所辖区域每位网格员当天的轨迹和打卡（各用一种颜色，异常打卡标红），
    以及网格员列表（最后打卡时间、里程、覆盖率）。网格员只看到自己的。"""
    from flask import current_app

    from gridmap.areas import service as areas
    from gridmap.maps.display import for_basemap
    from gridmap.maps.patrol import build_patrol_map, worker_colours
    from gridmap.pages import map_parts
    from gridmap.patrol import tracks as patrol
    from gridmap.patrol.settings import PatrolRules
    from gridmap.web import get_session

    within = query.within or None
    if within is not None and scope.narrow(within) is None:
        raise NotFound("area_not_found", code=within)
    day = day_or_today(query.date)
    session = get_session()
    rules = PatrolRules()
    daily = patrol.daily_tracks(session, scope, within=within, username=None, day=day, rules=rules)
    checkins = patrol.list_checkins(session, scope, within=within, username=None, day=day, limit=20000, offset=0)
    grid_codes = sorted({t["grid"] for t in daily["items"] if t["grid"]})
    grids = areas.list_grids(session, scope, within, None, limit=20000, offset=0)
    if len(grids["features"]) > 300:  # a whole district: outline only the grids patrolled that day
        grids = {**grids, "features": [g for g in grids["features"] if g["properties"]["code"] in grid_codes]}
    tiles = current_app.config["GRIDMAP"].tiles
    track_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": t["track"], "properties": {}} for t in daily["items"]]}
    shifted = for_basemap(track_fc, tiles)
    shown = [{**t, "track": f["geometry"]} for t, f in zip(daily["items"], shifted["features"])]
    title = f"巡查轨迹 · {areas.area_label(session, within or scope.prefix)} · {day.isoformat()}"
    fmap = build_patrol_map(shown, for_basemap(checkins, tiles), for_basemap(grids, tiles), title=title, tiles=tiles)
    return render_template("patrol_map.html", title=title, user=user, role_name=label(user.role, "role"),
                           workers=daily["items"], colours=worker_colours(daily["items"]), day=day.isoformat(),
                           within=within, checkin_total=checkins["total"], radius=int(rules.coverage_radius_m),
                           **map_parts(fmap))

