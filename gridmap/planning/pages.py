"""The boundary editor page /planner/<community code> (planners and admins)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from gridmap.areas import service as areas
from gridmap.auth.roles import ADMIN, PLANNER
from gridmap.auth.scope import AREA
from gridmap.labels import label
from gridmap.maps.planner import build_planner_map
from gridmap.maps.tiled import grid_tile_url, use_tiles
from gridmap.messages import message
from gridmap.pages import map_parts, page
from gridmap.planning.service import editor_data, neighbour_grids, street_of
from gridmap.web import get_session

bp = Blueprint("planning_pages", __name__)


@page(bp, "/planner/<code>", summary="网格边界调整", scope=AREA, roles=(ADMIN, PLANNER), code_not_found="area_not_found")
def editor(user, scope, code: str):
    session, settings = get_session(), current_app.config["GRIDMAP"]
    data = editor_data(session, scope, code)
    # The street's other grids around the edited ones: vector tiles when there are many.
    street = street_of(data["community"]["code"])
    tiled = use_tiles(areas.grid_fill_counts(session, scope, street)["total"], settings.tile_threshold, settings.tiles)
    fmap = build_planner_map(data["bounds"], tiles=settings.tiles,
                             neighbour_tiles=grid_tile_url(within=street) if tiled else None,
                             community=data["community"]["code"])
    config = {
        "map": fmap.get_name(),
        "community": data["community"],
        "grids": data["grids"],
        "households": data["households"],
        "outline": data["outline"],
        "neighbours": None if tiled else neighbour_grids(session, scope, code, settings.tile_threshold),
    }
    title = message("planner_page_title", community=data["community"]["name"])
    return render_template("planner.html", title=title, user=user, role_name=label(user.role, "role"),
                           planner_config=config,
                           **map_parts(fmap))
