"""A supervisor logs in and sees the district's grids on a map, with no internet."""

from __future__ import annotations

import pytest

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def supervisor(live_db):
    world = f.lishui(live_db)
    for i in range(320):
        f.household(live_db, f"B{i:04d}", 119.881 + (i % 40) * 0.0002, 28.451 + (i // 40) * 0.0008,
                    world["grids"][f.GRID_A])
    create_user(live_db, "district-sup", "pass-word-1", "supervisor", f.DISTRICT, "莲都区督导")
    live_db.commit()
    return "district-sup"


def test_login_and_overview_map_with_every_outside_request_blocked(offline, live_server, supervisor, artifacts):
    tab = offline(viewport={"width": 1200, "height": 800})
    page = tab.page
    page.goto(f"{live_server}/")
    assert "/login" in page.url
    page.fill("input[name=username]", supervisor)
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/maps/area/{f.DISTRICT}")
    page.wait_for_function("() => window.L !== undefined && document.querySelectorAll('.leaflet-interactive').length >= 3")
    layers = page.evaluate("""() => Object.values(window).filter(v => v instanceof L.GeoJSON)
                                   .map(layer => layer.getLayers().length)""")
    assert sum(layers) == 3
    assert page.locator(".map-title h1").inner_text() == "网格总览 · 莲都区"
    legend = page.locator(".leaflet-container").inner_text()
    assert "达标" in legend and "无住户" in legend
    page.screenshot(path=str(artifacts / "overview-map.png"))
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
