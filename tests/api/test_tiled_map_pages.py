"""Which maps draw their grids from vector tiles: above GRIDMAP_TILE_THRESHOLD grids (and never
over a GCJ-02 basemap) the choropleth, the patrol map and the planner's neighbourhood ask for
tiles; at or below it they keep GeoJSON in the page. The planner's neighbours stay in scope."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from gridmap.areas.models import AdminUnit
from gridmap.auth.service import create_user
from gridmap.maps.tiled import use_tiles
from tests import factories as f
from tests.api.test_patrol_map_page import _login

NEIGHBOUR = "331102001002001"


@pytest.fixture
def world(db_session):
    world = f.lishui(db_session)
    other = AdminUnit(code="331102001002", name="城南社区", level="community", parent_id=world["street"].id,
                      geom=f.multipolygon((119.900, 28.440, 119.910, 28.470)))
    db_session.add(other)
    db_session.flush()
    f.grid(db_session, NEIGHBOUR, "城南社区第1网格", other, bounds=(119.900, 28.450, 119.910, 28.460))
    db_session.commit()
    return world


@pytest.fixture
def threshold(app, monkeypatch):
    def set_to(n: int, tiles: str = "none"):
        settings = dataclasses.replace(app.config["GRIDMAP"], tile_threshold=n, tiles=tiles)
        monkeypatch.setitem(app.config, "GRIDMAP", settings)
    return set_to


def _planner_config(html: str) -> dict:
    return json.loads(re.search(r'id="planner-config" type="application/json">(.*?)</script>', html, re.DOTALL).group(1))


def test_use_tiles_above_the_threshold_and_never_over_gcj02():
    assert (use_tiles(301, 300, None), use_tiles(300, 300, None), use_tiles(301, 300, "gaode")) == (True, False, False)


def test_planner_neighbours_geojson_at_the_threshold_tiles_above(client, db_session, world, threshold):
    _login(client, db_session, "plan", "planner", f.DISTRICT)
    threshold(3)  # the street has 3 grids: GeoJSON
    html = client.get(f"/planner/{f.COMMUNITY}").get_data(as_text=True)
    codes = [g["properties"]["code"] for g in _planner_config(html)["neighbours"]["features"]]
    assert codes == [NEIGHBOUR] and "gridmapTiledGrids" not in html
    threshold(2)
    html = client.get(f"/planner/{f.COMMUNITY}").get_data(as_text=True)
    assert _planner_config(html)["neighbours"] is None
    assert f"/tiles/grids/{{z}}/{{x}}/{{y}}.pbf?within={f.STREET}" in html
    assert re.search(r'"skip": ?\{"property": ?"community", ?"value": ?"' + f.COMMUNITY, html)


def test_a_community_planner_sees_no_neighbour_outside_their_area(client, db_session, world, threshold):
    _login(client, db_session, "plan2", "planner", f.COMMUNITY)
    threshold(300)
    html = client.get(f"/planner/{f.COMMUNITY}").get_data(as_text=True)
    assert _planner_config(html)["neighbours"]["features"] == [] and NEIGHBOUR not in html


def test_patrol_and_hazard_maps_switch_on_the_same_setting(client, db_session, world, threshold):
    create_user(db_session, "sup", "pass-word-1", "supervisor", f.DISTRICT, "督导")
    _login(client, db_session, "sup2", "supervisor", f.DISTRICT)
    threshold(4)  # the district has 4 grids
    patrol = client.get("/maps/patrol?date=2026-01-05").get_data(as_text=True)
    heat = client.get("/maps/hazards").get_data(as_text=True)
    assert "gridmapTiledGrids" not in patrol and '"grid_tiles":null' in heat
    assert patrol.count("L.geoJson(") + patrol.count("L.geoJSON(") >= 1  # the outlines, in the page
    threshold(3)
    patrol = client.get("/maps/patrol?date=2026-01-05").get_data(as_text=True)
    heat = client.get("/maps/hazards?category=fire").get_data(as_text=True)
    assert "patrol_day=2026-01-05" in patrol and "gridmapTiledGrids" in patrol and NEIGHBOUR not in patrol
    assert "hazards=true\\u0026hazards_category=fire" in heat
    threshold(3, tiles="gaode")
    assert "gridmapTiledGrids" not in client.get("/maps/patrol?date=2026-01-05").get_data(as_text=True)
