"""就地解决 from the phone: a grid worker ticks 现场已解决 on the report page, adds photos before
and after the fix, and lands on the closed hazard; a supervisor reopens it from its page."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def people(live_db):
    f.lishui(live_db)
    create_user(live_db, "spot-worker", "pass-word-1", "grid_worker", f.GRID_A, "网格员小周")
    create_user(live_db, "spot-community", "pass-word-1", "supervisor", f.COMMUNITY, "社区督导老王")
    live_db.commit()


def _jpeg(path, colour, size):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_a_fix_on_the_spot_from_the_phone_then_reopened_by_a_supervisor(offline, live_server, people, tmp_path,
                                                                          artifacts):
    before = _jpeg(tmp_path / "处置前.jpg", (180, 20, 20), (40, 30))
    after = _jpeg(tmp_path / "处置后.jpg", (20, 160, 40), (30, 40))
    tab = offline(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = tab.page
    tab.log_in("spot-worker", "/hazards/new")
    page.wait_for_function("() => window.L && document.querySelector('#report-map svg')")
    assert page.locator("#after-photo-field").is_hidden()
    box = page.locator("#report-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => !document.querySelector('#submit').disabled")
    page.select_option("#category", "fire")
    page.fill("#description", "楼道纸箱已当场清走")
    page.set_input_files("#photo", before)
    page.check("#on-the-spot")
    assert page.locator("#after-photo-field").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # Without the photo after the fix the page says so and sends nothing.
    page.click("#submit")
    page.wait_for_function("() => !document.getElementById('error').hidden"
                           " && document.getElementById('error').textContent.includes('处置后')")
    page.set_input_files("#after-photo", after)
    page.screenshot(path=str(artifacts / "hazard-on-the-spot-360.png"), full_page=True)
    page.click("#submit")
    page.wait_for_url("**/hazards/*?reported=1")
    page.wait_for_selector(".hazard-photos img")
    assert page.locator("#resolution").inner_text() == "就地解决"
    assert "已办结" in page.locator("h1").inner_text()
    assert page.locator(".hazard-photos figcaption").all_inner_texts() == ["处置前", "处置后"]
    assert page.evaluate("[...document.querySelectorAll('.hazard-photos img')].map(i => i.naturalWidth)") == [40, 30]
    assert page.locator(".timeline li[data-action='on_the_spot']").count() == 1
    url = page.url.split("?")[0]
    assert tab.blocked == [] and tab.failed == [] and tab.console_errors == [], (tab.blocked, tab.failed,
                                                                                 tab.console_errors)
    tab.close()

    # The community's supervisor samples it and sends it back into the loop.
    sup = offline(viewport={"width": 1200, "height": 800})
    sup.log_in("spot-community", "/hazards")
    sup.page.click("#sample-on-the-spot")
    sup.page.wait_for_selector("table.hazard-table [data-resolution='on_the_spot']")
    sup.page.click("table.hazard-table a")
    sup.page.wait_for_url(url)
    form = sup.page.locator("form[data-action='reopen']")
    form.locator("input[name=note]").fill("抽查：纸箱又堆回来了")
    form.locator("button").click()
    sup.page.wait_for_selector(".timeline li[data-action='reopen']")
    assert "待受理" in sup.page.locator("h1").inner_text()
    assert sup.page.locator("#resolution").count() == 0
    assert "纸箱又堆回来了" in sup.page.locator(".timeline li[data-action='reopen']").inner_text()
    assert sup.console_errors == [], sup.console_errors
