"""The patrol plan page (a supervisor sets plans from the form, sees inheritance and the period's
standing; printable, no sideways scrolling on a phone) and the patrol map's behind-plan panel and
layer on a phone, with nothing fetched from outside."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.patrol_plan import service as patrol_plans
from gridmap.places import service as places
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world(live_db):
    f.lishui(live_db)
    place = places.create_key_place(live_db, Scope.everything(), f.GRID_A,
                                    {"name": "城北小学", "kind": "school", "lon": 119.884, "lat": 28.453})
    create_user(live_db, "plan-sup", "pass-word-1", "supervisor", f.STREET, "紫金街道督导")
    live_db.commit()
    return {"place": place["id"]}


def _status_rows(page) -> dict[str, str]:
    rows = page.locator("#plan-status tbody tr")
    return {(rows.nth(i).get_attribute("data-place") or rows.nth(i).get_attribute("data-grid")):
            rows.nth(i).locator("td.state").inner_text() for i in range(rows.count())}


def _fits_the_width(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_supervisor_sets_plans_on_the_page(offline, live_server, live_db, world):
    tab = offline(viewport={"width": 390, "height": 844})
    tab.log_in("plan-sup", "/patrol-plans")
    page = tab.page
    assert "还没有巡查计划" in page.inner_text("main")
    assert _fits_the_width(page)

    page.select_option("#plan-subject", "grid")
    page.select_option("#plan-code", f.STREET)
    page.select_option("#plan-period", "week")
    page.fill("#plan-count", "3")
    page.click("#plan-form button[type=submit]")
    page.wait_for_url("**/patrol-plans?done=saved")
    assert "巡查计划已保存" in page.inner_text(".plan-notice")
    assert _status_rows(page) == {f.GRID_A: "落后 3 天", f.GRID_B: "落后 3 天"}

    page.select_option("#plan-subject", "place")
    page.select_option("#plan-code", f.GRID_A)
    page.select_option("#plan-place", str(world["place"]))
    page.select_option("#plan-period", "day")
    page.fill("#plan-count", "1")
    page.click("#plan-form button[type=submit]")
    page.wait_for_url("**/patrol-plans?done=saved")
    assert _status_rows(page)[str(world["place"])] == "落后 1 天"
    assert page.locator("#plan-rules tbody tr").count() == 2

    # a count the period cannot hold: a page in Chinese, nothing stored
    page.select_option("#plan-subject", "grid")
    page.select_option("#plan-code", f.GRID_A)
    page.fill("#plan-count", "2")  # period still "day"
    page.click("#plan-form button[type=submit]")
    assert "该周期最多 1 天" in page.inner_text("body")
    assert live_db.scalar(text("SELECT count(*) FROM patrol_plan")) == 2

    page.goto(f"{live_server}/patrol-plans")
    street_rule = live_db.scalar(text("SELECT id FROM patrol_plan WHERE area_code = :c"), {"c": f.STREET})
    page.click(f'#plan-rules tr[data-plan="{street_rule}"] .plan-delete button')
    page.wait_for_url("**/patrol-plans?done=removed")
    assert set(_status_rows(page)) == {str(world["place"])}

    page.emulate_media(media="print")
    assert not page.locator("#plan-form").is_visible() and page.locator("#plan-status").is_visible()
    errors = [e for e in tab.console_errors if "422" not in e]  # the refused count's page is a 422
    assert tab.blocked == [] and errors == [], (tab.blocked, errors)


def test_the_patrol_map_shows_what_is_behind_plan_on_a_phone(offline, live_server, live_db, world):
    patrol_plans.set_plan(live_db, Scope.everything(), {"subject": "place", "code": f.GRID_A,
                                                        "place_id": world["place"], "period": "day", "min_count": 1})
    patrol_plans.set_plan(live_db, Scope.everything(), {"subject": "grid", "code": f.COMMUNITY, "place_id": None,
                                                        "period": "month", "min_count": 4})
    tab = offline(viewport={"width": 390, "height": 844})
    tab.log_in("plan-sup", "/maps/patrol")
    page = tab.page
    page.wait_for_function("() => window.L !== undefined && document.querySelectorAll('path.plan-behind-place').length")
    assert page.locator("path.plan-behind-place").count() == 1
    panel = page.locator("#behind-plan")
    assert panel.locator(f'tr[data-place="{world["place"]}"]').inner_text().split() == [
        "城北小学", "学校", "·", "城北社区第1网格", "0/1", "天", "每天"]
    assert panel.locator("tr[data-subject=grid]").count() == 2  # grids A and B, 0 of 4 days this month
    panel.scroll_into_view_if_needed()
    assert panel.is_visible() and _fits_the_width(page)
    assert tab.blocked == [] and tab.failed == [] and tab.console_errors == [], (tab.blocked, tab.failed,
                                                                                tab.console_errors)
