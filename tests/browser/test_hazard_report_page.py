"""A grid worker reports a hazard from the phone: /patrol → /hazards/new, a click on the offline
map, the possible duplicate shown before submitting, a photo, and the hazard's page after."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def worker(live_db):
    f.lishui(live_db)
    # Grid A's centre is where the map centres for its grid worker; an open fire hazard 10 m away.
    existing = service.report(live_db, Scope.everything(), category="fire", severity="normal",
                              description="楼道堆物", lon=119.8851, lat=28.4550, crs=None)
    create_user(live_db, "report-worker", "pass-word-1", "grid_worker", f.GRID_A, "网格员小李")
    live_db.commit()
    return existing


def test_report_from_the_phone_with_a_map_click_and_a_photo(offline, live_server, worker, tmp_path, artifacts):
    photo = tmp_path / "现场.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (180, 20, 20)).save(buffer, format="JPEG")
    photo.write_bytes(buffer.getvalue())
    tab = offline(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = tab.page
    tab.log_in("report-worker", "/patrol")
    page.click("#report-hazard")
    page.wait_for_url("**/hazards/new")
    page.wait_for_function("() => window.L && document.querySelector('#report-map path.leaflet-interactive, #report-map svg')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.select_option("#category", "fire")
    box = page.locator("#report-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#duplicate-box:not([hidden])")
    assert worker["code"] in page.locator("#duplicates").inner_text()
    assert "城北社区第1网格" in page.locator("#grid").inner_text()
    page.select_option("#category", "noise")
    page.wait_for_selector("#duplicate-box[hidden]", state="attached")
    page.fill("#description", "夜间装修噪声")
    page.set_input_files("#photo", str(photo))
    page.screenshot(path=str(artifacts / "hazard-report-360.png"), full_page=True)
    page.click("#submit")
    page.wait_for_url("**/hazards/*?reported=1")
    page.wait_for_selector(".hazard-photos img")
    assert "噪声" in page.locator("h1").inner_text() and "夜间装修噪声" in page.content()
    # loaded or failed, not still on its way (a CI run read the width while it was)
    page.wait_for_function("() => document.querySelector('.hazard-photos img').complete")
    assert page.evaluate("document.querySelector('.hazard-photos img').naturalWidth") == 40
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
