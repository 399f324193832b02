"""A supervisor opens the hazard heatmap and the work queue with every outside request blocked."""

from __future__ import annotations

import pytest

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def supervisor(live_db):
    f.lishui(live_db)
    admin = Scope.everything()
    for i in range(30):
        service.report(live_db, admin, category="fire" if i % 3 else "noise", severity="normal",
                       description=f"隐患 {i}", lon=119.881 + (i % 6) * 0.0015, lat=28.451 + (i // 6) * 0.0018,
                       crs=None)
    create_user(live_db, "hazard-sup", "pass-word-1", "supervisor", f.DISTRICT, "莲都区督导")
    live_db.commit()
    return "hazard-sup"


def test_hazard_map_and_queue_offline(offline, live_server, supervisor, artifacts):
    tab = offline(viewport={"width": 1200, "height": 800})
    page = tab.page
    tab.log_in(supervisor, "/maps/hazards")
    page.wait_for_function("() => window.L !== undefined && document.querySelector('canvas.leaflet-heatmap-layer')")
    page.wait_for_function("() => document.querySelectorAll('.marker-cluster, .leaflet-interactive').length > 0")
    assert "未办结 30 件" in page.locator(".map-title").inner_text()
    page.screenshot(path=str(artifacts / "hazards-map.png"))
    page.goto(f"{live_server}/hazards")
    assert page.locator("table.hazard-table tbody tr").count() == 30
    page.locator("table.hazard-table tbody tr a").first.click()
    page.wait_for_selector("ol.timeline li")
    page.locator("form[data-action=accept] button").click()
    page.wait_for_selector("ol.timeline li[data-action=accept]")
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
