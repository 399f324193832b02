"""The area overview above the tile threshold: grids come as vector tiles (Leaflet.VectorGrid),
the legend's counts from the database, search finds a grid, a click opens its 民情地图; offline."""

from __future__ import annotations

import dataclasses

import pytest

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tiled_app(app):
    settings = app.config["GRIDMAP"]
    app.config["GRIDMAP"] = dataclasses.replace(settings, tile_threshold=1)  # 3 grids > 1: tiles
    yield app
    app.config["GRIDMAP"] = settings


@pytest.fixture(scope="module")
def supervisor(tiled_app, live_db):
    world = f.lishui(live_db)
    for i in range(320):  # grid A within its 300-500 target; B and C empty
        f.household(live_db, f"T{i:04d}", 119.881 + (i % 40) * 0.0002, 28.451 + (i // 40) * 0.0008,
                    world["grids"][f.GRID_A])
    create_user(live_db, "tiles-sup", "pass-word-1", "supervisor", f.DISTRICT, "莲都区督导")
    live_db.commit()
    return "tiles-sup"


def test_overview_from_vector_tiles_offline(offline, live_server, supervisor, artifacts):
    tab = offline(viewport={"width": 1200, "height": 800})
    page = tab.page
    tiles: list[int] = []
    page.on("response", lambda r: "/tiles/grids/" in r.url and tiles.append(r.status))
    tab.log_in(supervisor, f"/maps/area/{f.DISTRICT}")
    page.wait_for_function("() => window.gridmapTiles !== undefined")
    page.wait_for_function("() => Object.keys(window.gridmapTiles._vectorTiles).length > 0")
    page.wait_for_timeout(500)
    assert tiles and set(tiles) <= {200, 304}, tiles
    assert page.evaluate("() => Object.values(window).filter(v => v instanceof L.GeoJSON).length") == 0
    # the legend counts come from the database: A within its target, B and C without households
    counts = {cls: page.locator(f".gridmap-legend li[data-class={cls}] .count").inner_text()
              for cls in ("under", "within", "over", "empty")}
    assert counts == {"under": "0", "within": "1", "over": "0", "empty": "2"}
    assert page.locator(".gridmap-legend .total .count").inner_text() == "3"
    page.screenshot(path=str(artifacts / "overview-tiles.png"))

    # search by name: the grid is found and its popup links to its 民情地图
    page.fill(".gridmap-search-input", "第2网格")
    page.press(".gridmap-search-input", "Enter")
    page.wait_for_selector(".leaflet-popup .gridmap-grid-link")
    assert "城北社区第2网格" in page.locator(".gridmap-search .result").inner_text()
    assert page.get_attribute(".leaflet-popup .gridmap-grid-link", "href") == f"/maps/grid/{f.GRID_B}"
    page.fill(".gridmap-search-input", "999999")
    page.press(".gridmap-search-input", "Enter")
    page.wait_for_function("() => document.querySelector('.gridmap-search .result').textContent === '没有找到该网格。'")

    # a click on grid A (drawn from its tile) opens its popup; the link opens its 民情地图
    page.evaluate("""() => { const map = Object.values(window).find(v => v instanceof L.Map);
                             map.closePopup(); map.setView([28.455, 119.885], 15, {animate: false}); }""")
    page.wait_for_timeout(800)
    point = page.evaluate("""() => { const map = Object.values(window).find(v => v instanceof L.Map);
                                     const p = map.latLngToContainerPoint([28.4555, 119.8845]);
                                     const r = map.getContainer().getBoundingClientRect();
                                     return [r.left + p.x, r.top + p.y]; }""")
    page.mouse.click(*point)
    page.wait_for_selector(".leaflet-popup .gridmap-grid-link")
    assert f.GRID_A in page.locator(".leaflet-popup").inner_text()
    page.click(".leaflet-popup .gridmap-grid-link")
    page.wait_for_url(f"**/maps/grid/{f.GRID_A}")
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
