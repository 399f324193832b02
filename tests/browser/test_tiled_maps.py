"""Above the tile threshold (set to 1 here, so the small test area goes tiled) the hazard
choropleth, the patrol map's grid layer and the planner's street neighbourhood come from vector
tiles: tiles are asked for with the map's figures, the legend is right, a click on a grid opens
its popup and the link to its 民情地图; every outside request blocked."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridmap.areas.models import AdminUnit
from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service as hazards
from tests import factories as f

pytestmark = pytest.mark.browser

DAY = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date()
NEIGHBOUR = "331102001002001"  # a grid of the street outside 城北社区
MAP = "Object.values(window).find(v => v instanceof L.Map)"


@pytest.fixture(scope="module")
def world(app, live_db):
    settings = app.config["GRIDMAP"]
    app.config["GRIDMAP"] = dataclasses.replace(settings, tile_threshold=1)
    world = f.lishui(live_db)
    other = AdminUnit(code="331102001002", name="城南社区", level="community", parent_id=world["street"].id,
                      geom=f.multipolygon((119.900, 28.440, 119.910, 28.470)))
    live_db.add(other)
    live_db.flush()
    f.grid(live_db, NEIGHBOUR, "城南社区第1网格", other, bounds=(119.900, 28.450, 119.910, 28.460))
    for i in range(4):
        f.household(live_db, f"A{i}", 119.882 + i * 0.002, 28.452, world["grids"][f.GRID_A])
    for _ in range(2):
        hazards.report(live_db, Scope.everything(), category="fire", severity="normal", description="消防通道堵塞",
                       lon=119.886, lat=28.456, crs=None)
    hazards.report(live_db, Scope.everything(), category="noise", severity="normal", description="噪声",
                   lon=119.887, lat=28.456, crs=None)
    create_user(live_db, "tiled-sup", "pass-word-1", "supervisor", f.DISTRICT, "莲都区督导")
    create_user(live_db, "tiled-planner", "pass-word-1", "planner", f.DISTRICT, "规划员")
    wang = f.token_for(live_db, "grid_worker", f.GRID_A, username="tiled-wang", display_name="王网格员")
    live_db.commit()
    client = app.test_client()
    for household, hour in (("A0", 9), ("A1", 10)):  # 2 of A's 4 households visited that day
        at = datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=ZoneInfo("Asia/Shanghai")).isoformat()
        item = {"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.455, "accuracy_m": 10, "recorded_at": at,
                "household_code": household}
        assert client.post("/api/v1/checkins", json=item, headers=f.auth(wang)).status_code == 201
    yield world
    app.config["GRIDMAP"] = settings


def _tiles(page) -> list[str]:
    urls: list[str] = []
    page.on("response", lambda r: "/tiles/grids/" in r.url and r.status in (200, 304) and urls.append(r.url))
    return urls


def _wait_for_tiles(page):
    page.wait_for_function("() => window.gridmapTiles && Object.keys(window.gridmapTiles._vectorTiles).length > 0")
    page.wait_for_timeout(500)


def _click(page, lat: float, lon: float, zoom: int = 15):
    page.evaluate(f"() => {{ const map = {MAP}; map.closePopup(); map.setView([{lat}, {lon}], {zoom}, {{animate: false}}); }}")
    page.wait_for_timeout(800)
    point = page.evaluate(f"""() => {{ const map = {MAP}; const p = map.latLngToContainerPoint([{lat}, {lon}]);
                                     const r = map.getContainer().getBoundingClientRect();
                                     return [r.left + p.x, r.top + p.y]; }}""")
    page.mouse.click(*point)


def _drawn(page) -> set[str]:
    return set(page.evaluate("""() => Object.values(window.gridmapTiles._vectorTiles)
                                  .flatMap(t => Object.keys(t._features))"""))


def _offline_clean(tab):
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors


def test_hazard_choropleth_from_tiles(offline, live_server, world, artifacts):
    tab = offline(viewport={"width": 1200, "height": 800})
    page = tab.page
    urls = _tiles(page)
    density: list[str] = []
    page.on("request", lambda r: "/grid-density" in r.url and density.append(r.url))
    tab.log_in("tiled-sup", "/maps/hazards?category=fire")
    page.evaluate("() => { const box = document.getElementById('heat-choropleth'); box.checked = true;"
                  " box.dispatchEvent(new Event('change')); }")
    _wait_for_tiles(page)
    assert urls and all("hazards=true" in u and "hazards_category=fire" in u for u in urls), urls
    assert density == []  # no GeoJSON of the grids
    legend = page.locator(".heat-legend").inner_text()
    assert "每千户问题数" in legend and "≥ 20" in legend and legend.count("\n") == 6
    _click(page, 28.4585, 119.8815)
    page.wait_for_selector(".leaflet-popup .gridmap-grid-link")
    text = page.locator(".leaflet-popup").inner_text()
    assert f.GRID_A in text and "2 件 / 4 户" in text and "每千户 500 件" in text, text  # fire only, not noise
    assert page.locator(".leaflet-popup .report-here").count() == 1
    page.screenshot(path=str(artifacts / "hazards-choropleth-tiles.png"))
    page.click(".leaflet-popup .gridmap-grid-link")
    page.wait_for_url(f"**/maps/grid/{f.GRID_A}")
    _offline_clean(tab)


def test_patrol_grids_from_tiles_by_the_days_coverage(offline, live_server, world, artifacts):
    tab = offline(viewport={"width": 1200, "height": 800})
    page = tab.page
    urls = _tiles(page)
    tab.log_in("tiled-sup", f"/maps/patrol?date={DAY}")
    _wait_for_tiles(page)
    assert urls and all(f"patrol_day={DAY}" in u for u in urls), urls
    assert page.evaluate("() => Object.values(window).filter(v => v instanceof L.GeoJSON).length") == 0
    rows = page.locator(".tiled-legend li")
    assert [rows.nth(i).get_attribute("data-class") for i in range(rows.count())] == [
        "most", "half", "some", "none", "empty"]
    _click(page, 28.4585, 119.8815)
    page.wait_for_selector(".leaflet-popup .gridmap-grid-link")
    text = page.locator(".leaflet-popup").inner_text()
    assert f.GRID_A in text and "2/4" in text and "50%" in text, text
    page.screenshot(path=str(artifacts / "patrol-tiles.png"))
    page.click(".leaflet-popup .gridmap-grid-link")
    page.wait_for_url(f"**/maps/grid/{f.GRID_A}")
    _offline_clean(tab)


def test_planner_neighbourhood_from_tiles_and_the_community_editable(offline, live_server, world, artifacts):
    tab = offline(viewport={"width": 1200, "height": 800})
    page = tab.page
    urls = _tiles(page)
    tab.log_in("tiled-planner", f"/planner/{f.COMMUNITY}")
    _wait_for_tiles(page)
    assert urls and all(f"within={f.STREET}" in u for u in urls), urls
    page.wait_for_function(f"() => {{ const map = {MAP}; map.setView([28.455, 119.895], 14, {{animate: false}}); return true; }}")
    page.wait_for_timeout(800)
    drawn = _drawn(page)
    assert NEIGHBOUR in drawn and not drawn & {f.GRID_A, f.GRID_B}, drawn  # the community's grids: GeoJSON only
    _click(page, 28.4585, 119.908)
    page.wait_for_selector(".leaflet-popup .gridmap-grid-link")
    assert page.get_attribute(".leaflet-popup .gridmap-grid-link", "href") == f"/maps/grid/{NEIGHBOUR}"
    _click(page, 28.4585, 119.8815)  # grid A: the editable GeoJSON takes the click
    page.wait_for_function(f"() => document.getElementById('planner-grid').textContent.includes('{f.GRID_A}')"
                           " || document.getElementById('planner-grid').textContent.includes('第1网格')")
    page.screenshot(path=str(artifacts / "planner-tiles.png"))
    _offline_clean(tab)
