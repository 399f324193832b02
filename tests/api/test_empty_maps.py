"""Map pages with nothing to show fit the viewer's own area (not a fallback centre) and say what
would appear there, linking to the page that would fill them if the role may open it."""

from __future__ import annotations

import re

from tests import factories as f
from tests.api.test_patrol_map_page import DAY, _checkin, _login

FIT = re.compile(r"fitBounds\(\s*\[\[([-0-9.e]+), ([-0-9.e]+)\], \[([-0-9.e]+), ([-0-9.e]+)\]\]")


def _extent(prefix: str) -> tuple[float, float, float, float]:
    boxes = [b for code, b in f.BOXES.items() if code.startswith(prefix)]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _fits(html: str, bounds: tuple[float, float, float, float]) -> bool:
    want = (bounds[1], bounds[0], bounds[3], bounds[2])
    return any(all(abs(float(g) - w) < 1e-5 for g, w in zip(m.groups(), want)) for m in FIT.finditer(html))


def test_empty_heatmap_fits_the_area_and_links_to_reporting(client, db_session):
    f.lishui(db_session)
    _login(client, db_session, "sup", "supervisor", f.DISTRICT)
    html = client.get("/maps/hazards").get_data(as_text=True)
    assert 'id="map-empty"' in html and "还没有问题隐患" in html
    assert 'id="map-empty-action" href="/hazards/new"' in html
    assert _fits(html, _extent(f.DISTRICT))


def test_empty_heatmap_links_nothing_a_planner_cannot_open(client, db_session):
    f.lishui(db_session)
    _login(client, db_session, "plan", "planner", f.DISTRICT)
    html = client.get("/maps/hazards").get_data(as_text=True)
    assert 'id="map-empty"' in html and "map-empty-action" not in html


def test_empty_patrol_map_fits_the_area_and_links_to_checking_in(client, db_session):
    f.lishui(db_session)
    _login(client, db_session, "sup", "supervisor", f.DISTRICT)
    html = client.get(f"/maps/patrol?date={DAY.isoformat()}").get_data(as_text=True)
    assert 'id="map-empty"' in html and "还没有巡查打卡" in html
    assert 'id="map-empty-action" href="/patrol"' in html
    assert _fits(html, _extent(f.DISTRICT))


def test_patrol_map_with_checkins_is_not_empty(client, db_session):
    f.lishui(db_session)
    wang = f.token_for(db_session, "grid_worker", f.GRID_A, username="wang", display_name="王网格员")
    _checkin(client, wang, 119.885, 28.455, 9)
    _checkin(client, wang, 119.887, 28.455, 10)
    _login(client, db_session, "sup", "supervisor", f.DISTRICT)
    html = client.get(f"/maps/patrol?date={DAY.isoformat()}").get_data(as_text=True)
    assert 'id="map-empty"' not in html
    assert not _fits(html, _extent(f.DISTRICT))


def test_overview_without_grids_fits_the_area(client, db_session):
    district = f.admin_unit(db_session, f.DISTRICT, "莲都区", "district", None)
    street = f.admin_unit(db_session, f.STREET, "紫金街道", "street", district)
    f.admin_unit(db_session, f.COMMUNITY, "城北社区", "community", street)
    db_session.commit()
    _login(client, db_session, "sup", "supervisor", f.DISTRICT)
    html = client.get(f"/maps/area/{f.STREET}").get_data(as_text=True)
    assert 'id="map-empty"' in html and "还没有网格" in html and "map-empty-action" not in html
    assert _fits(html, _extent(f.STREET))
    _login(client, db_session, "plan", "planner", f.COMMUNITY)
    html = client.get(f"/maps/area/{f.COMMUNITY}").get_data(as_text=True)
    assert f'id="map-empty-action" href="/planner/{f.COMMUNITY}"' in html
    assert _fits(html, _extent(f.COMMUNITY))


def test_overview_with_grids_is_not_empty(client, db_session):
    f.lishui(db_session)
    _login(client, db_session, "sup", "supervisor", f.DISTRICT)
    html = client.get(f"/maps/area/{f.DISTRICT}").get_data(as_text=True)
    assert 'id="map-empty"' not in html


def test_grid_without_households_says_so_and_with_one_does_not(client, db_session):
    world = f.lishui(db_session)
    _login(client, db_session, "sup", "supervisor", f.DISTRICT)
    html = client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True)
    assert 'id="map-empty"' in html and "还没有住户" in html
    assert _fits(html, _extent(f.GRID_A))
    f.household(db_session, "M1", 119.8851, 28.4551, world["grids"][f.GRID_A])
    db_session.commit()
    assert 'id="map-empty"' not in client.get(f"/maps/grid/{f.GRID_A}").get_data(as_text=True)
