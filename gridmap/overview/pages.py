"""Map pages. Routes fetch plain data from services and hand it to a map builder."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, url_for

from gridmap.areas import service as areas
from gridmap.auth.roles import ADMIN, ALL_ROLES, DEPARTMENT, GRID_WORKER, PARTY_MEMBER, PLANNER, STAFF
from gridmap.auth.scope import AREA
from gridmap.labels import label
from gridmap.maps.display import bounds_for_basemap, for_basemap
from gridmap.maps.overview import build_grid_overview
from gridmap.maps.tiled import grid_tile_url, use_tiles
from gridmap.maps.tiled_overview import build_tiled_overview
from gridmap.messages import message
from gridmap.pages import empty_state, map_parts, may_open, page
from gridmap.web import get_session

bp = Blueprint("overview_pages", __name__)


@page(bp, "/", summary="首页（按角色跳转）", scope=AREA, roles=ALL_ROLES)
def home(user, scope):
    """Grid workers and party members start at their grid's 民情地图, departments at their queue; others at their area."""
    if user.role == DEPARTMENT:
        return redirect(url_for("department_pages.queue"))
    if user.role in (GRID_WORKER, PARTY_MEMBER):
        return redirect(url_for("grid_sheet_pages.grid_map", code=user.scope_code))
    return redirect(url_for("overview_pages.area_map", code=user.scope_code or ALL))


ALL = "all"  # /maps/area/all: the caller's whole area (an admin's has no code)


@page(bp, "/maps/area/<code>", summary="网格总览", scope=AREA, roles=STAFF, code_not_found="area_not_found",
      whole_area=ALL)
def area_map(user, scope, code: str):
    """Every grid of an area, coloured by households against its 300–500 target."""
    within = None if code == ALL else code
    session = get_session()
    title = message("overview_title", area=areas.area_label(session, within or scope.prefix))
    settings = current_app.config["GRIDMAP"]
    tiles = settings.tiles
    summary = areas.grid_fill_counts(session, scope, within)
    if use_tiles(summary["total"], settings.tile_threshold, tiles):
        # Too many grids for GeoJSON in the page: vector tiles (WGS-84, so not over a GCJ-02 basemap).
        fmap = _tiled_overview(title, within, summary, tiles)
        return render_template("map_page.html", title=title, user=user, role_name=label(user.role, "role"),
                               grid_count=summary["total"], **map_parts(fmap))
    grids = areas.list_grids(session, scope, within, None, limit=20000, offset=0)
    editor = "/planner/{community_code}" if user.role in (ADMIN, PLANNER) else None
    empty = None if grids["features"] else _empty_area(session, user, scope, within)
    fmap = build_grid_overview(for_basemap(grids, tiles), title=title, tiles=tiles, edit_template=editor,
                               area_bounds=bounds_for_basemap(empty["bounds"], tiles) if empty else None)
    return render_template("map_page.html", title=title, user=user, role_name=label(user.role, "role"),
                           grid_count=grids["total"], empty=empty, **map_parts(fmap))


def _empty_area(session, user, scope, within: str | None) -> dict:
    """No grids yet: the area's extent, and the planner's editor when the area is a community."""
    code = within or scope.prefix
    link = (url_for("planning_pages.editor", code=code)
            if len(code) == 12 and may_open("/planner/<code>", user.role) else None)
    return {**empty_state(message("empty_grids", area=areas.area_label(session, code)),
                          action=message("empty_grids_action"), link=link),
            "bounds": areas.area_bounds(session, scope, within)}


def _tiled_overview(title: str, within: str | None, summary: dict, tiles: str):
    area = {"within": within} if within else {}
    return build_tiled_overview(
        title=title, tile_url=grid_tile_url(within=within),
        counts=summary["counts"], total=summary["total"], bounds=summary["bounds"], tiles=tiles,
        search_url=f"/api/v1/grids?{urlencode({**area, 'limit': 5})}&q=")
