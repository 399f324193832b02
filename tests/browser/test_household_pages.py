"""Household information collection in Chromium at a phone's size, offline: a grid worker adds a
household at a point picked on the map (it lands in their grid), an edit that meets a newer
version (409) is merged field by field and saved, and a supervisor approves a pending sensitive
change. Every request outside the app is blocked and counted."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def world(live_db):
    data = f.lishui(live_db)
    f.household(live_db, "HB-1", 119.883, 28.453, data["grids"][f.GRID_A], address="解放街1号", head_name="赵大",
                phone="13800000001", size=2)
    f.household(live_db, "HB-2", 119.884, 28.454, data["grids"][f.GRID_A], address="解放街2号", head_name="钱二",
                phone="13800000002", size=1)
    create_user(live_db, "hh-worker", "pass-word-1", "grid_worker", f.GRID_A, "网格员小王")
    create_user(live_db, "hh-community", "pass-word-1", "supervisor", f.COMMUNITY, "社区督导")
    live_db.commit()
    return data


def _household(live_db, code):
    return live_db.execute(text("SELECT h.address, h.phone, h.size, h.version, h.risk_level, g.code AS grid, "
                                "ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat FROM household h "
                                "LEFT JOIN grid g ON g.id = h.grid_id WHERE h.code = :c"), {"c": code}).first()


def _client_writes(live_db, code):
    return live_db.execute(text("SELECT count(*) FROM household_client_write w JOIN household h "
                                "ON h.id = w.household_id WHERE h.code = :c"), {"c": code}).scalar_one()


def _clean(tab):
    assert tab.blocked == [], tab.blocked
    # a refused request (the 400 and 409 these tests provoke, counted in tab.failed) is its only console error
    assert [e for e in tab.console_errors if not e.startswith("Failed to load resource")] == [], tab.console_errors


def test_a_worker_adds_a_household_at_a_point_picked_on_the_map(offline, world, live_db, artifacts):
    tab = offline(**PHONE, geolocation={"longitude": 119.8861, "latitude": 28.4571}, permissions=["geolocation"])
    page = tab.page
    tab.log_in("hh-worker", "/patrol")
    page.click("#add-household")
    page.wait_for_url(f"**/households/new?grid={f.GRID_A}")
    page.wait_for_function("() => window.L && document.querySelector('#household-map svg path')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.click("#locate")  # the phone's position (WGS-84, as the patrol page sends it)
    page.wait_for_function("() => document.getElementById('position').textContent.startsWith('119.886100')")
    assert "WGS-84" in page.locator("#position-crs").inner_text()
    box = page.locator("#household-map").bounding_box()  # then a point picked on the map, west of the phone
    page.mouse.click(box["x"] + box["width"] / 4, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.getElementById('grid').textContent.includes('城北社区第1网格')")
    lon, lat = (float(v) for v in page.locator("#position").inner_text().split(","))
    assert lon < 119.8855 and abs(lat - 28.4571) < 0.0002
    page.fill("#code", "HB-9")
    page.fill("#address", "解放街9号")
    page.fill("#head_name", "孙九")
    page.fill("#phone", "13900000009")
    page.fill("#size", "3")
    page.fill("#tags", "独居老人、出租房")
    page.fill("#size", "120")  # out of range: the API's field error, in Chinese, under the field
    page.click("#submit")
    page.wait_for_selector('.field-error[data-for="size"]:not([hidden])')
    assert page.locator('.field-error[data-for="size"]').inner_text() == "人数：不能大于 99"
    assert _household(live_db, "HB-9") is None
    page.fill("#size", "3")
    page.screenshot(path=str(artifacts / "household-new-360.png"), full_page=True)
    page.click("#submit")
    page.wait_for_url("**/households/HB-9/edit?saved=1")
    assert page.locator("#current-grid").inner_text() == f.GRID_A and page.locator("#saved").is_visible()
    stored = _household(live_db, "HB-9")
    assert (stored.grid, stored.address, stored.size, stored.version) == (f.GRID_A, "解放街9号", 3, 1)
    assert abs(stored.lon - lon) < 1e-6 and abs(stored.lat - lat) < 1e-6  # the map's point, not the phone's
    _clean(tab)
    assert [u for u in tab.failed if "/api/v1/households" not in u] == [], tab.failed


def test_an_edit_that_meets_a_newer_version_is_merged_and_saved(offline, world, live_db, artifacts):
    tab = offline(**PHONE)
    page = tab.page
    tab.log_in("hh-worker", "/households/HB-1/edit")
    page.wait_for_function("() => window.householdSend && window.L")
    assert page.locator("#version").inner_text() == "1"
    assert not page.locator("#merged-into-row").is_visible()  # only with 已并户
    page.fill("#address", "解放街1号东单元")  # this phone's edit, made on version 1
    # meanwhile another phone saves version 2 (a new phone number and a new size)
    other = page.evaluate("""() => window.householdSend('PATCH', '/api/v1/households/HB-1',
        {version: 1, phone: '13811112222', size: 5, device: 'phone-2'}).then(r => r.status)""")
    assert other == 200
    page.click("#submit")
    page.wait_for_selector("#merge:not([hidden])")
    assert page.locator("#merge-version").inner_text() == "2"
    rows = {r.get_attribute("data-field"): r for r in page.locator("#merge-table tbody tr").all()}
    assert set(rows) == {"address", "phone", "size"}
    assert "解放街1号东单元" in rows["address"].inner_text() and "解放街1号" in rows["address"].inner_text()
    assert "13811112222" in rows["phone"].inner_text()
    assert rows["address"].locator("input[value=mine]").is_checked()
    assert rows["phone"].locator("input[value=theirs]").is_checked()
    rows["size"].locator("input[value=mine]").check()  # keep this phone's size (2) over theirs (5)
    page.screenshot(path=str(artifacts / "household-merge-360.png"), full_page=True)
    page.click("#merge-submit")
    page.wait_for_url("**/households/HB-1/edit?saved=1")
    stored = _household(live_db, "HB-1")
    assert (stored.address, stored.phone, stored.size, stored.version) == ("解放街1号东单元", "13811112222", 2, 3)
    page.click("#history-link")
    page.wait_for_url("**/households/HB-1/history")
    assert "phone-2" in page.content() and "第 3 版" in page.locator("#change-" + str(live_db.scalar(text(
        "SELECT max(c.id) FROM household_change c JOIN household h ON h.id = c.household_id WHERE h.code = 'HB-1'"
    )))).inner_text()
    _clean(tab)
    assert [u for u in tab.failed if "/api/v1/households/HB-1" not in u] == [], tab.failed


def test_a_supervisor_approves_a_pending_sensitive_change(offline, world, live_db, artifacts):
    worker = offline(**PHONE)
    worker.log_in("hh-worker", "/households/HB-2/edit")
    worker.page.wait_for_function("() => window.householdSend && window.L")
    worker.page.select_option("#risk_level", "high")
    worker.page.click("#submit")
    worker.page.wait_for_url("**/households/HB-2/edit?saved=1&pending=risk_level")
    assert "须社区审核" in worker.page.locator("#saved").inner_text()
    assert _household(live_db, "HB-2").risk_level is None  # waits for the community
    tab = offline(**PHONE)
    page = tab.page
    tab.log_in("hh-community", "/households/approvals")
    item = page.locator('[data-household="HB-2"]')
    assert "高" in item.locator('tr[data-field="risk_level"]').inner_text()
    item.locator("textarea.note").fill("已核实")
    page.screenshot(path=str(artifacts / "household-approvals-360.png"), full_page=True)
    item.locator("button.approve").click()
    item.locator(".result:not([hidden])").wait_for()
    assert "已通过" in item.locator(".result").inner_text()
    stored = _household(live_db, "HB-2")
    assert (stored.risk_level, stored.version) == ("high", 2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for t in (worker, tab):
        _clean(t)
        assert t.failed == [], t.failed


def test_an_edit_made_without_signal_waits_in_the_outbox_and_is_stored_once(offline, world, live_db):
    tab = offline(**PHONE)
    page = tab.page
    tab.log_in("hh-worker", "/households/HB-2/edit")
    page.wait_for_function("() => window.Outbox && document.getElementById('submit')")
    before, writes_before = _household(live_db, "HB-2"), _client_writes(live_db, "HB-2")
    tab.set_offline(True)
    page.fill("#address", "解放街2号之一")
    page.click("#submit")
    page.wait_for_function("() => document.getElementById('queued-count').textContent === '1'")
    assert "已保存在手机上" in page.locator("#sync-status").inner_text()
    assert _household(live_db, "HB-2").address == before.address
    tab.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_function("() => document.getElementById('queued-count').textContent === '0'", timeout=20000)
    stored = _household(live_db, "HB-2")
    assert (stored.address, stored.version) == ("解放街2号之一", before.version + 1)
    assert _client_writes(live_db, "HB-2") == writes_before + 1  # one client id, stored once
    _clean(tab)
