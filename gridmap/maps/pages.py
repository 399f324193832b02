"""Map pages. Routes fetch plain data from services and hand it to a map builder."""

from __future__ import annotations

from functools import wraps

import folium
from flask import Blueprint, current_app, redirect, render_template, request, url_for

from gridmap.areas import service as areas
from gridmap.auth.current import current_user
from gridmap.auth.roles import ADMIN, GRID_WORKER, PARTY_MEMBER, PLANNER, ROLE_NAMES, STAFF
from gridmap.auth.service import scope_of
from gridmap.errors import NotFound
from gridmap.maps.assets import assert_offline
from gridmap.maps.display import for_basemap
from gridmap.maps.overview import build_grid_overview
from gridmap.web import get_session, nonce_scripts

bp = Blueprint("map_pages", __name__)


def login_required(view):
    @wraps(view)
    def wrapper(**kwargs):
        user = current_user()
        if user is None:
            return redirect(url_for("auth_pages.login", next=request.full_path.rstrip("?")))
        return view(user=user, **kwargs)

    return wrapper


def map_parts(fmap: folium.Map) -> dict[str, str]:
    """A folium map split into what our page template embeds: the header with this response's
    nonce on its scripts, the body (no scripts), and the set-up script for the template's own
    nonce'd <script> element."""
    root = fmap.get_root()
    root.render()
    parts = {"map_header": nonce_scripts(root.header.render()), "map_body": root.html.render(),
             "map_script": root.script.render()}
    assert_offline("".join(parts.values()))
    return parts


@bp.get("/")
@login_required
def home(user):
    """Grid workers and party members start at their grid's 民情地图; others at their area."""
    if user.role in (GRID_WORKER, PARTY_MEMBER) and user.scope_code:
        return redirect(url_for("grid_pages.grid_map", code=user.scope_code))
    return redirect(url_for("map_pages.area_map", code=user.scope_code or "all"))


@bp.get("/maps/area/<code>")
@login_required
def area_map(user, code: str):
    """Every grid of an area, coloured by households against its 300–500 target."""
    scope = scope_of(user)
    within = None if code == "all" else code
    if user.role not in STAFF or scope.narrow(within) is None:
        raise NotFound("area_not_found", code=code)
    session = get_session()
    grids = areas.list_grids(session, scope, within, None, limit=20000, offset=0)
    title = f"网格总览 · {areas.area_label(session, within or scope.prefix)}"
    tiles = current_app.config["GRIDMAP"].tiles
    editor = "/planner/{community_code}" if user.role in (ADMIN, PLANNER) else None
    fmap = build_grid_overview(for_basemap(grids, tiles), title=title, tiles=tiles, edit_template=editor)
    return render_template("map_page.html", title=title, user=user, role_name=ROLE_NAMES[user.role],
                           grid_count=grids["total"], **map_parts(fmap))
