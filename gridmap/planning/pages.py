"""The boundary editor page /planner/<community code> (planners and admins)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from gridmap.auth.roles import ADMIN, PLANNER
from gridmap.auth.scope import AREA
from gridmap.labels import label
from gridmap.maps.planner import build_planner_map
from gridmap.messages import message
from gridmap.pages import map_parts, page
from gridmap.planning.service import editor_data
from gridmap.web import get_session

bp = Blueprint("planning_pages", __name__)


@page(bp, "/planner/<code>", summary="网格边界调整", scope=AREA, roles=(ADMIN, PLANNER), code_not_found="area_not_found")
def editor(user, scope, code: str):
    data = editor_data(get_session(), scope, code)
    fmap = build_planner_map(data["bounds"], tiles=current_app.config["GRIDMAP"].tiles)
    config = {
        "map": fmap.get_name(),
        "community": data["community"],
        "grids": data["grids"],
        "households": data["households"],
        "outline": data["outline"],
    }
    title = message("planner_page_title", community=data["community"]["name"])
    return render_template("planner.html", title=title, user=user, role_name=label(user.role, "role"),
                           planner_config=config,
                           **map_parts(fmap))
