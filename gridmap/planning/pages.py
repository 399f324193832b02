"""The boundary editor page /planner/<community code> (planners and admins)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from gridmap.auth.roles import ADMIN, PLANNER, ROLE_NAMES
from gridmap.auth.service import scope_of
from gridmap.errors import NotFound
from gridmap.maps.pages import login_required, map_parts
from gridmap.maps.planner import build_planner_map
from gridmap.planning.service import editor_data
from gridmap.web import get_session

bp = Blueprint("planning_pages", __name__)

@bp.get("/planner/<code>")
@login_required
def editor(user, code: str):
    scope = scope_of(user)
    if user.role not in (ADMIN, PLANNER):
        raise NotFound("area_not_found", code=code)
    data = editor_data(get_session(), scope, code)
    fmap = build_planner_map(data["bounds"], tiles=current_app.config["GRIDMAP"].tiles)
    config = {
        "map": fmap.get_name(),
        "community": data["community"],
        "grids": data["grids"],
        "households": data["households"],
        "outline": data["outline"],
    }
    title = f"网格边界调整 · {data['community']['name']}"
    return render_template("planner.html", title=title, user=user, role_name=ROLE_NAMES[user.role],
                           planner_config=config,
                           **map_parts(fmap))
