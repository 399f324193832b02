"""The boundary editor page /planner/<community code> (planners and admins)."""

from __future__ import annotations

import json

import shapely
from flask import Blueprint, current_app, render_template
from folium.plugins import GeoMan
from sqlalchemy import text

from gridmap.areas import service as areas
from gridmap.auth.roles import ADMIN, PLANNER, ROLE_NAMES
from gridmap.auth.service import scope_of
from gridmap.errors import NotFound
from gridmap.maps.assets import offline_map
from gridmap.maps.pages import login_required, map_parts
from gridmap.web import get_session

bp = Blueprint("planning_pages", __name__)

COMMUNITY_SQL = text("""
SELECT id, code, name, ST_AsGeoJSON(geom, 7)::json AS geometry,
       ST_XMin(geom) AS w, ST_YMin(geom) AS s, ST_XMax(geom) AS e, ST_YMax(geom) AS n
  FROM admin_unit WHERE code = :code AND level = 'community'
""")

# Households as [lon, lat, code]: codes only, never names or phones.
HOUSEHOLDS_SQL = text("""
SELECT coalesce(json_agg(json_build_array(round(ST_X(h.geom)::numeric, 7), round(ST_Y(h.geom)::numeric, 7), h.code)),
                '[]')
  FROM household h JOIN admin_unit c ON ST_Intersects(c.geom, h.geom) WHERE c.id = :id
""")


@bp.get("/planner/<code>")
@login_required
def editor(user, code: str):
    scope = scope_of(user)
    if user.role not in (ADMIN, PLANNER) or not scope.covers(code):
        raise NotFound("area_not_found", code=code)
    session = get_session()
    community = session.execute(COMMUNITY_SQL, {"code": code}).first()
    if community is None or community.geometry is None:
        raise NotFound("area_not_found", code=code)
    grids = areas.list_grids(session, scope, code, None, limit=1000, offset=0)
    households = session.execute(HOUSEHOLDS_SQL, {"id": community.id}).scalar_one()
    tiles = current_app.config["GRIDMAP"].tiles
    fmap = offline_map(tiles=tiles)
    fmap.fit_bounds([[community.s, community.w], [community.n, community.e]])
    # Vertex editing, drawing a new grid, drawing a split line, snapping to neighbours' edges.
    GeoMan(position="topleft", drawMarker=False, drawCircleMarker=False, drawRectangle=False, drawCircle=False,
           drawText=False, cutPolygon=False, rotateMode=False, dragMode=False, removalMode=False).add_to(fmap)
    config = {
        "map": fmap.get_name(),
        "community": {"code": community.code, "name": community.name, "geometry": community.geometry},
        "grids": grids,
        "households": households,
        "outline": shapely.geometry.mapping(shapely.geometry.shape(community.geometry).boundary),
    }
    title = f"网格边界调整 · {community.name}"
    return render_template("planner.html", title=title, user=user, role_name=ROLE_NAMES[user.role],
                           planner_config=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
                           **map_parts(fmap))
