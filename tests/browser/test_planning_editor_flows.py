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
    tab.log_in("planner-flow", f"/planner/{f.COMMUNITY}")
    page.wait_for_function("() => window.plannerReady === true")
    tab.dialogs = Dialogs(page)
    yield tab
    assert tab.blocked == [], tab.blocked
    # A refused request (the 409) is logged by Chromium as "Failed to load resource"; nothing else may be.
    assert [e for e in tab.console_errors if "Failed to load resource" not in e] == [], tab.console_errors


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


def _api(live_server, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{live_server}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _east_edge(page, code: str) -> float:
    return page.evaluate("""(code) => Math.max(...window.gridmapPlanner.layers[code].getLatLngs().flat(3)
                                                  .map(p => p.lng))""", code)


def _save(page, dialogs, reason: str) -> None:
    dialogs.answers = [reason]
    page.locator("#planner-save").click()


def test_a_concurrent_save_is_shown_with_the_other_boundary_and_loses_nothing(editor, live_server, world):
    page = editor.page
    # My first edit: pull A's east edge to 119.889 (the ten households at 119.8894 leave).
    _set_ring(page, f.GRID_A, [[28.450, 119.880], [28.460, 119.880], [28.460, 119.889], [28.450, 119.889]])
    page.wait_for_function("() => document.getElementById('preview-moved-out').textContent.startsWith('10')")
    _save(page, editor.dialogs, "东侧让出")
    page.wait_for_function("() => document.getElementById('planner-notice').textContent.includes('已保存为第 2 版')")
    assert page.locator("#planner-version").inner_text() == "2"

    # Another planner saves A through the API meanwhile (version 2 → 3).
    theirs = {"type": "Polygon", "coordinates": [[[119.880, 28.450], [119.890, 28.450], [119.890, 28.4585],
                                                  [119.880, 28.4585], [119.880, 28.450]]]}
    status, body = _api(live_server, "PUT", f"/api/v1/grids/{f.GRID_A}/geometry", world["other"],
                        {"geometry": theirs, "version": 2, "reason": "对方调整"})
    assert (status, body["version"]) == (200, 3), body

    # My second edit, saved from version 2: refused, their boundary shown, mine kept on the map.
    _set_ring(page, f.GRID_A, [[28.450, 119.880], [28.460, 119.880], [28.460, 119.8888], [28.450, 119.8888]])
    page.wait_for_function("() => window.gridmapPlanner.state.previews >= 3")
    _save(page, editor.dialogs, "再让一点")
    page.wait_for_function("() => document.getElementById('planner-notice').textContent.includes('已被他人修改')")
    message = page.locator("#planner-notice").inner_text()
    assert "planner-other" in message and "对方调整" in message and "紫色虚线" in message
    conflict = page.evaluate("""() => {
        const c = window.gridmapPlanner.state.conflict;
        return c && c.getLayers()[0].getLatLngs().flat(3).map(p => p.lat);
    }""")
    assert conflict and max(conflict) == pytest.approx(28.4585)  # their northern edge
    assert _east_edge(page, f.GRID_A) == pytest.approx(119.8888)  # my edit is still there
    assert page.locator("#planner-version").inner_text() == "3"

    # Saving again now starts from their version: mine wins, consciously.
    _save(page, editor.dialogs, "再让一点")
    page.wait_for_function("() => document.getElementById('planner-notice').textContent.includes('已保存为第 4 版')")
    assert page.evaluate("() => window.gridmapPlanner.state.conflict") is None
    status, history = _api(live_server, "GET", f"/api/v1/grids/{f.GRID_A}/versions?geometry=true", world["other"])
    assert [v["reason"] for v in history["items"]] == ["再让一点", "对方调整", "东侧让出", None]
    ring = history["items"][0]["geometry"]["coordinates"][0][0]
    assert max(x for x, _ in ring) == pytest.approx(119.8888)


def test_undo_reverts_the_last_save(editor, live_server, world):
    page = editor.page
    _set_ring(page, f.GRID_A, [[28.450, 119.880], [28.460, 119.880], [28.460, 119.8870], [28.450, 119.8870]])
    page.wait_for_function("() => window.gridmapPlanner.state.previews >= 1")
    _save(page, editor.dialogs, "试一下")
    page.wait_for_function("() => document.getElementById('planner-notice').textContent.includes('已保存为第 5 版')")
    page.locator("#planner-undo").click()
    page.wait_for_function("() => document.getElementById('planner-notice').textContent.includes('已撤销')")
    assert "恢复为第 4 版" in page.locator("#planner-notice").inner_text()
    assert _east_edge(page, f.GRID_A) == pytest.approx(119.8888)
    assert page.locator("#planner-undo").is_disabled()
    status, history = _api(live_server, "GET", f"/api/v1/grids/{f.GRID_A}/versions?geometry=true", world["other"])
    assert history["version"] == 6
    assert history["items"][0]["geometry"] == history["items"][2]["geometry"]


def test_split_along_a_drawn_line_makes_two_grids(editor):
    page = editor.page
    # Draw a line across B (Geoman's pm:create), select B, split.
    page.evaluate(f"""() => {{
        const map = window.gridmapPlanner.map;
        const line = L.polyline([[28.4545, 119.889], [28.4545, 119.901]]).addTo(map);
        map.fire("pm:create", {{shape: "Line", layer: line}});
        window.gridmapPlanner.layers["{f.GRID_B}"].fire("click");
    }}""")
    assert page.locator("#planner-split").is_enabled()
    editor.dialogs.answers = ["户数超标"]
    page.locator("#planner-split").click()
    page.wait_for_function("() => document.getElementById('planner-notice').textContent.includes('已拆分')")
    assert f.COMMUNITY + "004" in page.locator("#planner-notice").inner_text()
    page.wait_for_function("() => window.plannerReady === true && window.gridmapPlanner.layers['"
                           + f.COMMUNITY + "004'] !== undefined", timeout=10_000)
    assert _rows(page) == [f.GRID_A, f.GRID_B, NEW, f.COMMUNITY + "004"]
    counts = {code: page.locator(f"#planner-grids tr[data-code='{code}'] td").nth(1).inner_text()
              for code in (f.GRID_B, f.COMMUNITY + "004")}
    assert counts == {f.GRID_B: "5 户", f.COMMUNITY + "004": "5 户"}


def test_merge_two_selected_grids(editor):
    page = editor.page
    page.evaluate(f"""() => {{
        for (const code of ["{f.GRID_B}", "{f.COMMUNITY}004"]) {{
            window.gridmapPlanner.layers[code].fire("click", {{originalEvent: {{ctrlKey: true}}}});
        }}
    }}""")
    assert page.locator("#planner-merge").is_enabled()
    editor.dialogs.answers = ["人口减少"]
    page.locator("#planner-merge").click()
    page.wait_for_function("() => document.getElementById('planner-notice').textContent.includes('已合并')")
    page.wait_for_function("() => window.plannerReady === true && window.gridmapPlanner.layers['"
                           + f.COMMUNITY + "004'] === undefined", timeout=10_000)
    assert _rows(page) == [f.GRID_A, f.GRID_B, NEW]
    assert page.locator(f"#planner-grids tr[data-code='{f.GRID_B}'] td").nth(1).inner_text() == "10 户"
