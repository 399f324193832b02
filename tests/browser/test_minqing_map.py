"""A grid worker opens their grid's 民情地图 with every outside request blocked, and the
handbook's PDF export has the pages it should."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.households.models import Household
from gridmap.party.models import PartyMember
from gridmap.party.service import build_contact_lists
from gridmap.printing.handbook import pdf_page_count
from tests import factories as f

pytestmark = pytest.mark.browser

TAGS = (["孤寡老人"], ["出租房"], ["社区矫正"], [], [], [])
RISKS = ("high", "medium", None, None, "low", None)


@pytest.fixture(scope="module")
def world(live_db):
    data = f.lishui(live_db)
    grid_a, grid_b = data["grids"][f.GRID_A], data["grids"][f.GRID_B]
    for i in range(60):
        f.household(live_db, f"MQ-{i:03d}", 119.8812 + (i % 10) * 0.0008, 28.4512 + (i // 10) * 0.0014, grid_a,
                    head_name=f"住户{i}", phone=f"1380000{i:04d}", tags=TAGS[i % 6], risk_level=RISKS[i % 6],
                    address=f"丽水市莲都区丽阳街8号丽景花园{i // 10 + 1}幢1单元{101 + i % 10}")
    for i in range(4):
        f.household(live_db, f"MB-{i}", 119.892 + i * 0.001, 28.455, grid_b, head_name=f"乙{i}",
                    address=f"丽水市莲都区丽阳街9号{i + 1}幢101")
    for grid, count in ((grid_a, 6), (grid_b, 3)):
        for k in range(count):
            live_db.add(PartyMember(name=f"党员{grid.code[-1]}{k}", phone="13700000000", branch="一支部",
                                    grid_id=grid.id, geom=from_shape(Point(119.8815 + k * 0.0015 + (grid is grid_b) * 0.01,
                                                                           28.455), srid=4326)))
    live_db.flush()
    build_contact_lists(live_db, Scope.everything(), f.GRID_A, 10)
    build_contact_lists(live_db, Scope.everything(), f.GRID_B, 10)
    create_user(live_db, "mq-worker", "pass-word-1", "grid_worker", f.GRID_A, "城北1网格员")
    create_user(live_db, "mq-admin", "pass-word-1", "admin", "", "管理员")
    live_db.commit()
    return data


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_minqing_map_offline_with_every_household(offline, live_server, world, live_db, artifacts):
    expected = live_db.scalar(select(func.count()).select_from(Household)
                              .where(Household.grid_id == world["grids"][f.GRID_A].id))
    tab = offline(viewport={"width": 1280, "height": 860})
    page = tab.page
    _login(page, live_server, "mq-worker")
    page.goto(f"{live_server}/maps/grid/{f.GRID_A}")
    page.wait_for_function("() => window.gridmapLayers && window.gridmapLayers.households")
    counts = page.evaluate("""() => Object.fromEntries(Object.entries(window.gridmapLayers)
                                  .map(([k, layer]) => [k, layer.getLayers().length]))""")
    assert counts["households"] == expected == 60
    assert counts["members"] == 6 and counts["lines"] == 6 and counts["hazards"] == 0
    assert page.locator(".leaflet-control-search input").count() == 1
    legend = page.locator(".mq-legend").inner_text()
    assert "高风险" in legend and "关爱对象" in legend and "党员" in legend
    assert page.locator(".leaflet-control-layers").inner_text().count("住户") >= 1
    # Searching a household code finds it.
    page.locator(".leaflet-control-search input").press_sequentially("MQ-007")
    page.wait_for_selector(".search-tip")
    assert "MQ-007" in page.locator(".search-tooltip").inner_text()
    page.screenshot(path=str(artifacts / "minqing-map.png"))
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors


def test_print_page_and_pdf_pages(offline, live_server, world, artifacts):
    tab = offline(viewport={"width": 1000, "height": 1200})
    page = tab.page
    _login(page, live_server, "mq-admin")
    page.goto(f"{live_server}/maps/grid/{f.GRID_B}/print")
    assert page.locator(".pm-card").count() == 3
    page.screenshot(path=str(artifacts / "minqing-print.png"), full_page=True)
    response = page.request.get(f"{live_server}/maps/grid/{f.GRID_B}/print.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    (artifacts / "minqing-handbook.pdf").write_bytes(pdf)
    # The handbook of four households fits one page; three cards, two per page, take two.
    assert pdf_page_count(pdf) == 3
    assert tab.blocked == [] and tab.console_errors == []
