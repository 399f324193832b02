"""The heatmap page refetches cells for the visible area, filters by week, draws the
per-1,000-households choropleth and turns a click into a prefilled report — all offline."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def supervisor(live_db):
    world = f.lishui(live_db)
    for i in range(5):
        f.household(live_db, f"HH{i}", 119.882 + i * 0.001, 28.452, world["grids"][f.GRID_A])
    for i in range(12):
        service.report(live_db, Scope.everything(), category="fire", severity="normal", description=f"隐患 {i}",
                       lon=119.881 + (i % 4) * 0.002, lat=28.451 + (i // 4) * 0.003, crs=None)
    create_user(live_db, "heat-sup", "pass-word-1", "supervisor", f.DISTRICT, "莲都区督导")
    live_db.commit()
    return "heat-sup"


def test_heatmap_refetches_filters_by_week_and_links_a_report(offline, live_server, supervisor, artifacts):
    tab = offline(viewport={"width": 1200, "height": 800})
    page = tab.page
    tab.log_in(supervisor, "/maps/hazards")
    page.wait_for_function("() => document.body.dataset.heatTotal === '12'")
    # A week long ago: nothing; back to all time: everything again.
    page.locator("#heat-week").fill("0")
    page.wait_for_function("() => document.body.dataset.heatTotal === '0'")
    page.locator("#heat-week").fill("26")
    page.wait_for_function("() => document.body.dataset.heatTotal === '12'")
    page.check("#heat-choropleth")
    page.wait_for_selector(".heat-legend")
    page.screenshot(path=str(artifacts / "hazards-heatmap-choropleth.png"))
    box = page.locator(".folium-map").bounding_box()
    link = page.locator("a.report-here")
    # A click on empty map offers a report there; one that lands on an open hazard's marker opens
    # that hazard instead (and one during a redraw can be lost): try a few spots.
    for fx, fy in ((0.5, 0.5), (0.3, 0.7), (0.7, 0.3), (0.2, 0.2)):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        try:
            link.wait_for(timeout=5000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    link.wait_for()
    assert "/hazards/new?lon=" in link.get_attribute("href") and "crs=wgs84" in link.get_attribute("href")
    link.click()
    page.wait_for_url("**/hazards/new?*")
    page.wait_for_function("() => document.getElementById('position').textContent.indexOf(',') > 0")
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors


def test_choropleth_asks_for_gaode_outlines_on_a_gaode_basemap(offline, live_server, supervisor, app, monkeypatch):
    """On a Gaode (GCJ-02) basemap the page asks for the heat cells and the grid choropleth in GCJ-02."""
    import dataclasses

    monkeypatch.setitem(app.config, "GRIDMAP", dataclasses.replace(app.config["GRIDMAP"], tiles="gaode"))
    tab = offline(viewport={"width": 1200, "height": 800})  # Gaode's tiles are blocked: not needed here
    page = tab.page
    with page.expect_request(lambda r: "/api/v1/hazards/heatmap?" in r.url) as heat:
        tab.log_in(supervisor, "/maps/hazards")
    assert "display=gcj02" in heat.value.url
    with page.expect_request(lambda r: "/api/v1/hazards/grid-density?" in r.url) as density:
        page.check("#heat-choropleth")
    assert "display=gcj02" in density.value.url
    page.wait_for_selector(".heat-legend")
    assert tab.failed == [], tab.failed
    errors = [e for e in tab.console_errors if "autonavi.com" not in e]  # the blocked Gaode tiles
    assert errors == [], errors
