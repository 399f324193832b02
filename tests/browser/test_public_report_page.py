"""A resident reports from the phone without logging in: /r/<grid> (the wall map's QR code), the
grid's address search, a pin on the offline map, a photo, the proof of work solved by the page's
own script, the tracking code, and the status page. Every request outside the app is blocked."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from gridmap.hazards.models import Hazard, HazardPhoto
from gridmap.public.models import PublicReport
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def grid(live_db):
    grids = f.lishui(live_db)["grids"]
    f.household(live_db, "R1", 119.8862, 28.4561, grids[f.GRID_A], head_name="周住户", phone="13800000009",
                address="丽景花园7幢1单元202")
    live_db.commit()
    return f.GRID_A


def test_a_resident_reports_with_a_pin_and_a_photo_and_follows_it(offline, live_server, live_db, grid, tmp_path,
                                                                   artifacts):
    photo = tmp_path / "现场.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 20)).save(buffer, format="JPEG")
    photo.write_bytes(buffer.getvalue())
    tab = offline(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = tab.page
    page.goto(f"{live_server}/r/{grid}")
    page.wait_for_function("() => window.L && document.querySelector('#public-map svg')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.select_option("#category", "sanitation")
    page.fill("#description", "垃圾桶满了三天没人清运")
    page.fill("#address", "丽景花园7")  # the grid's address search: the address, never the household
    page.wait_for_selector("#address-matches button")
    assert page.locator("#address-matches").inner_text().strip() == "丽景花园7幢"  # never the flat
    assert "周住户" not in page.content()
    box = page.locator("#public-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the pin: grid A's centre
    page.wait_for_selector("#public-map .leaflet-marker-icon")
    page.set_input_files("#photo", str(photo))
    page.fill("#phone", "13912345678")
    page.screenshot(path=str(artifacts / "public-report-390.png"), full_page=True)
    page.click("#submit")
    page.wait_for_selector("#done:not([hidden])", timeout=60_000)
    code = page.locator("#tracking-code").inner_text().strip()
    assert len(code) == 16
    page.click("#status-link")
    page.wait_for_url(f"**/r/status/{code}")
    assert page.locator("#status").inner_text() == "待受理"
    text = page.locator("main").inner_text()
    assert "受理期限" in text and "办结期限" in text and "13912345678" not in text and "5678" not in text
    hazard = live_db.scalar(select(Hazard).join(PublicReport).where(PublicReport.tracking_code == code))
    assert hazard.source == "resident" and hazard.grid_code == grid and hazard.category_code == "sanitation"
    assert live_db.scalar(select(HazardPhoto.width).where(HazardPhoto.hazard_id == hazard.id)) == 40
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
