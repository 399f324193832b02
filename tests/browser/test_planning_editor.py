"""A planner moves a grid vertex in the editor and sees the preview counts change, offline."""

from __future__ import annotations

import pytest

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def planner(live_db):
    world = f.lishui(live_db)
    # 20 households in A's eastern strip (lon 119.8885–119.8895), 10 in B.
    for i in range(20):
        f.household(live_db, f"PA{i:03d}", 119.8885 + (i % 2) * 0.001 * 0.9, 28.451 + i * 0.0004,
                    world["grids"][f.GRID_A])
    for i in range(10):
        f.household(live_db, f"PB{i:03d}", 119.895, 28.451 + i * 0.0008, world["grids"][f.GRID_B])
    create_user(live_db, "planner-1", "pass-word-1", "planner", f.COMMUNITY, "城北规划员")
    live_db.commit()
    return "planner-1"


def test_moving_a_vertex_previews_who_moves_with_no_outside_request(offline, live_server, planner, artifacts):
    tab = offline(viewport={"width": 1300, "height": 850})
    page = tab.page
    tab.log_in(planner, f"/planner/{f.COMMUNITY}")
    page.wait_for_function("() => window.plannerReady === true && window.L.PM !== undefined")
    assert page.locator("#planner-grids tr").count() == 2
    assert page.locator(".leaflet-pm-toolbar").count() >= 1  # Geoman's toolbar is there

    # Pull A's eastern edge west to lon 119.888 through Geoman: the strip's households move out.
    page.evaluate(f"""() => {{
        const layer = window.gridmapPlanner.layers["{f.GRID_A}"];
        layer.fire("click");
        layer.setLatLngs([[[28.450, 119.880], [28.460, 119.880], [28.460, 119.888], [28.450, 119.888]]]);
        layer.fire("pm:edit", {{layer: layer, shape: "Polygon"}});
    }}""")
    page.wait_for_function("() => document.getElementById('preview-moved-out').textContent.startsWith('20')")
    assert page.locator("#preview-before").inner_text() == "20 户"
    assert page.locator("#preview-after").inner_text().startswith("0 户")
    assert page.locator("#preview-moved-in").inner_text().startswith("0 户")

    # Now push it east over B: B's households it covers move in, the overlap is reported.
    page.evaluate(f"""() => {{
        const layer = window.gridmapPlanner.layers["{f.GRID_A}"];
        layer.setLatLngs([[[28.450, 119.880], [28.460, 119.880], [28.460, 119.896], [28.450, 119.896]]]);
        layer.fire("pm:edit", {{layer: layer, shape: "Polygon"}});
    }}""")
    page.wait_for_function("() => document.getElementById('preview-moved-in').textContent.startsWith('10')")
    assert page.locator("#preview-after").inner_text().startswith("30 户")
    assert f.GRID_B[-3:] in page.locator("#preview-overlaps").inner_text()
    assert page.locator(f"#planner-grids tr[data-code='{f.GRID_B}'] td").nth(1).inner_text() == "0 户"
    page.screenshot(path=str(artifacts / "planner-editor.png"))
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
