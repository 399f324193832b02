"""生成划分方案 in the editor: proposed grids with counts and Polsby–Popper, an adjusted boundary
re-counted (overlap shown, acceptance blocked), then the whole set accepted, offline."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world(live_db):
    f.lishui(live_db)
    rng = np.random.default_rng(11)
    live_db.execute(text("""
        INSERT INTO household (code, geom)
        SELECT 'Q' || lpad(i::text, 5, '0'), ST_SetSRID(ST_MakePoint(x, y), 4326)
          FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) WITH ORDINALITY AS t(x, y, i)"""),
        {"lon": rng.uniform(119.872, 119.898, 700).tolist(), "lat": rng.uniform(28.441, 28.469, 700).tolist()})
    create_user(live_db, "planner-prop", "pass-word-1", "planner", f.COMMUNITY, "城北规划员")
    live_db.commit()


def test_propose_adjust_and_accept_in_the_editor(offline, live_server, world, artifacts):
    tab = offline(viewport={"width": 1300, "height": 850})
    page = tab.page
    page.on("dialog", lambda d: d.accept("统一重新划分"))
    tab.log_in("planner-prop", f"/planner/{f.COMMUNITY}")
    page.wait_for_function("() => window.plannerReady === true")

    page.locator("#planner-propose").click()
    page.wait_for_function("() => document.querySelectorAll('#planner-proposal tr[data-index]').length === 2")
    counts = page.eval_on_selector_all("#planner-proposal tr[data-index] td:nth-child(2)", "c => c.map(x => x.textContent)")
    assert counts == ["350 户", "350 户"]
    compactness = page.eval_on_selector_all("#planner-proposal tr[data-index] td:nth-child(3)",
                                            "c => c.map(x => parseFloat(x.textContent))")
    assert all(0 < c <= 1 for c in compactness)
    assert page.locator("#planner-accept").is_enabled()

    # Drag proposal 1 over proposal 2: re-counted by the server, the overlap shown, accept blocked.
    page.evaluate("""() => {
        const p = window.gridmapPlanner.proposal;
        p.saved = p.layers[0].getLatLngs();
        p.layers[0].setLatLngs([[[28.440, 119.870], [28.470, 119.870], [28.470, 119.900], [28.440, 119.900]]]);
        p.layers[0].fire("pm:edit", {layer: p.layers[0], shape: "Polygon"});
    }""")
    page.wait_for_function("() => document.getElementById('proposal-summary').textContent.includes('相互重叠')")
    assert page.locator("#planner-proposal tr[data-index='1'] td").nth(1).inner_text() == "700 户"
    assert page.locator("#planner-proposal tr.overlap").count() == 2
    assert page.locator("#planner-accept").is_disabled()

    # Put it back and accept the whole set.
    page.evaluate("""() => {
        const p = window.gridmapPlanner.proposal;
        p.layers[0].setLatLngs(p.saved);
        p.layers[0].fire("pm:edit", {layer: p.layers[0], shape: "Polygon"});
    }""")
    page.wait_for_function("() => !document.getElementById('planner-accept').disabled")
    assert page.locator("#planner-proposal tr.overlap").count() == 0
    page.screenshot(path=str(artifacts / "planner-proposal.png"))
    page.locator("#planner-accept").click()
    page.wait_for_function("() => document.getElementById('planner-notice').textContent.includes('已采纳')")
    page.wait_for_function("() => window.plannerReady === true && document.getElementById('planner-proposal')"
                           ".children.length === 0", timeout=10_000)
    counts = page.eval_on_selector_all("#planner-grids tr td:nth-child(2)", "c => c.map(x => x.textContent)")
    assert counts == ["350 户", "350 户"]
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
