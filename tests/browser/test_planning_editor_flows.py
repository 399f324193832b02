"""The boundary editor end to end, offline: draw a new grid, save, a concurrent save (409),
undo, split along a drawn line, merge. The tests of this module run in order on one world."""

from __future__ import annotations

import json
import urllib.request

import pytest

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser

NEW = f.COMMUNITY + "003"


@pytest.fixture(scope="module")
def world(live_db):
    w = f.lishui(live_db)
    for i in range(20):
        f.household(live_db, f"PA{i:03d}", 119.8885 + (i % 2) * 0.0009, 28.451 + i * 0.0004, w["grids"][f.GRID_A])
    for i in range(10):
        f.household(live_db, f"PB{i:03d}", 119.895, 28.451 + i * 0.0008, w["grids"][f.GRID_B])
    for i in range(5):
        f.household(live_db, f"PX{i:03d}", 119.875, 28.451 + i * 0.0015, None)
    create_user(live_db, "planner-flow", "pass-word-1", "planner", f.COMMUNITY, "城北规划员")
    # The other planner works through the API with a token.
    other = f.token_for(live_db, "planner", f.COMMUNITY, username="planner-other", display_name="另一规划员")
    live_db.commit()
    return {"other": other}


class Dialogs:
    """Answers window.prompt/confirm in order with the queued answers."""

    def __init__(self, page):
        self.answers: list[str | bool] = []
        self.seen: list[str] = []
        page.on("dialog", self._answer)

    def _answer(self, dialog):
        self.seen.append(dialog.message)
        answer = self.answers.pop(0) if self.answers else False
        if answer is False:
            dialog.dismiss()
        else:
            dialog.accept(answer if isinstance(answer, str) else "")


@pytest.fixture
def editor(offline, live_server, world):
    tab = offline(viewport={"width": 1300, "height": 850})
    page = tab.page
    page.goto(f"{live_server}/login?next=/planner/{f.COMMUNITY}")
    page.fill("input[name=username]", "planner-flow")
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/planner/{f.COMMUNITY}")
    page.wait_for_function("() => window.plannerReady === true")
    tab.dialogs = Dialogs(page)
    yield tab
    assert tab.blocked == [], tab.blocked
    assert tab.console_errors == [], tab.console_errors


def _ready_after_reload(page):
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.plannerReady === true")


def _rows(page) -> list[str]:
    return page.eval_on_selector_all("#planner-grids tr", "rows => rows.map(r => r.dataset.code)")


def _set_ring(page, code: str, ring: list[tuple[float, float]]) -> None:
    """Move grid ``code``'s vertices to ``ring`` (lat, lon) as a Geoman edit would."""
    page.evaluate("""([code, ring]) => {
        const layer = window.gridmapPlanner.layers[code];
        layer.fire("click");
        layer.setLatLngs([ring]);
        layer.fire("pm:edit", {layer: layer, shape: "Polygon"});
    }""", [code, ring])


def test_drawing_a_polygon_previews_and_creates_a_new_grid(editor, live_server):
    page = editor.page
    assert page.locator("#planner-create").is_disabled()
    page.evaluate("""() => {
        const map = window.gridmapPlanner.map;
        const layer = L.polygon([[28.450, 119.873], [28.460, 119.873], [28.460, 119.879], [28.450, 119.879]])
            .addTo(map);
        map.fire("pm:create", {shape: "Polygon", layer: layer});
    }""")
    page.wait_for_function("() => document.getElementById('preview-from').textContent.includes('未分配')")
    assert page.locator("#preview-moved-in").inner_text().startswith("5 户")
    assert page.locator("#preview-from").inner_text() == "未分配 5 户"
    assert NEW in page.locator("#planner-grid").inner_text()
    assert page.locator(f"#planner-grids tr[data-code='{NEW}'] td").nth(1).inner_text() == "5 户"
    editor.dialogs.answers = ["西片网格", "新建小区"]
    page.locator("#planner-create").click()
    page.wait_for_function(f"() => document.querySelector(\"#planner-grids tr[data-code='{NEW}']\") !== null"
                           " && window.gridmapPlanner.layers['" + NEW + "'] !== undefined", timeout=10_000)
    _ready_after_reload(page)
    assert _rows(page) == [f.GRID_A, f.GRID_B, NEW]
    assert page.locator(f"#planner-grids tr[data-code='{NEW}'] td").nth(1).inner_text() == "5 户"
