"""Patrol pages: the phone check-in page /patrol (offline first) and its service worker."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template, send_file, url_for
from pydantic import BaseModel, Field

from gridmap.apidoc import PUBLIC
from gridmap.areas import service as areas
from gridmap.auth.scope import ANYONE, AREA_OWN_RECORDS
from gridmap.clock import DAY_PATTERN, day_or_today
from gridmap.labels import label
from gridmap.maps.display import bounds_for_basemap, for_basemap
from gridmap.maps.patrol import build_patrol_map, coverage_layer, worker_colours
from gridmap.maps.tiled import grid_tile_url, use_tiles
from gridmap.messages import message
from gridmap.pages import empty_state, map_parts, may_open, page
from gridmap.patrol import tracks
from gridmap.patrol.api import CHECKIN_ROLES
from gridmap.patrol_plan.service import behind as behind_plan
from gridmap.web import get_session

bp = Blueprint("patrol_pages", __name__)


class PatrolMapQuery(BaseModel):
    within: str = Field("", pattern=r"^[0-9]{0,24}$", description="区域编码前缀（空：全部）")
    date: str = Field("", pattern=rf"^$|{DAY_PATTERN}", description="日期 YYYY-MM-DD（北京时间，空：今天）")


@page(bp, "/patrol", summary="巡查打卡（手机）", scope=AREA_OWN_RECORDS, roles=CHECKIN_ROLES)
def patrol(user, scope):
    """手机巡查打卡：定位、所在网格、一键打卡、走访住户、备注；离线时先存在手机上。"""
    return render_template("patrol.html", title=message("patrol_page_title"), user=user,
                           role_name=label(user.role, "role"))


@page(bp, "/patrol/sw.js", summary="巡查打卡页的离线脚本（service worker）", scope=ANYONE, roles=PUBLIC)
def service_worker():
    """The service worker, served under /patrol so its scope may cover the page itself."""
    script = Path(current_app.static_folder) / "patrol-sw.js"
    response = send_file(script, mimetype="application/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/patrol"
    response.headers["Cache-Control"] = "no-cache"
    return response


@page(bp, "/maps/patrol", summary="巡查轨迹", scope=AREA_OWN_RECORDS, roles=CHECKIN_ROLES, query=PatrolMapQuery)
def patrol_map(user, scope, query: PatrolMapQuery):
    """今日巡查：所辖区域每位网格员当天的轨迹和打卡（各用一种颜色，异常打卡标红），
    以及网格员列表（最后打卡时间、里程、覆盖率）。网格员只看到自己的。"""
    settings, session = current_app.config["GRIDMAP"], get_session()
    within, tiles = query.within or None, settings.tiles
    # Many grids: the grid layer comes from vector tiles, coloured by the day's coverage.
    tiled = use_tiles(areas.grid_fill_counts(session, scope, within)["total"], settings.tile_threshold, tiles)
    day = tracks.day_overview(session, scope, within=within, day=day_or_today(query.date),
                              rules=settings.patrol, outlines=not tiled)
    workers = day["workers"]
    grid_tiles = coverage_layer(grid_tile_url(within=within, patrol_day=day["date"])) if tiled else None
    shifted = for_basemap({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": w["track"], "properties": {}} for w in workers]}, tiles)
    shown = [{**w, "track": f["geometry"]} for w, f in zip(workers, shifted["features"])]
    title = message("patrol_map_title", area=day["area_name"], day=day["date"])
    empty = not workers and not day["checkins"]["features"]
    # Fitted when no track is drawn (without outlines in the page, tiles have no extent of their own).
    area_bounds = bounds_for_basemap(areas.area_bounds(session, scope, within), tiles) if empty or tiled else None
    behind = behind_plan(session, scope, radius_m=settings.patrol.place_radius_m, within=within, limit=BEHIND_ROWS)
    fmap = build_patrol_map(shown, for_basemap(day["checkins"], tiles), for_basemap(day["grids"], tiles),
                            title=title, tiles=tiles, area_bounds=area_bounds, grid_tiles=grid_tiles,
                            behind_places=for_basemap(_behind_places(behind["items"]), tiles))
    return render_template("patrol_map.html", title=title, user=user, role_name=label(user.role, "role"),
                           workers=workers, colours=worker_colours(workers), day=day["date"], within=within,
                           checkin_total=day["checkins"]["total"], radius=int(day["coverage_radius_m"]),
                           empty=_empty_patrols(user, day) if empty else None, behind=behind, **map_parts(fmap))


BEHIND_ROWS = 200


def _behind_places(items: list[dict]) -> dict:
    """The key places among what is behind plan, as Points for the map's layer."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]}, "properties": i}
        for i in items if i["subject"] == "place"]}


def _empty_patrols(user, day: dict) -> dict:
    link = url_for("patrol_pages.patrol") if may_open("/patrol", user.role) else None
    return empty_state(message("empty_patrol", area=day["area_name"], day=day["date"]),
                       action=message("empty_patrol_action"), link=link)
