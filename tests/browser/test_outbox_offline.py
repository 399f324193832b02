"""Everything the phone writes waits in one outbox while it is offline: a check-in, a hazard report
with a photo and household edits, listed as waiting on every page that writes (and after a reload);
back online each is stored exactly once, and an edit another phone got in first is kept as refused
with its reason and a link to merge."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import text

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser

WAITING = "() => document.getElementById('queued-count').textContent === '{n}'"


@pytest.fixture(scope="module")
def worker(live_db):
    world = f.lishui(live_db)
    f.household(live_db, "OB-1", 119.8852, 28.4551, world["grids"][f.GRID_A], address="中山街1号")
    user = create_user(live_db, "outbox-worker", "pass-word-1", "grid_worker", f.GRID_A, "赵网格员")
    live_db.commit()
    return user.id


def test_offline_writes_of_every_kind_sync_once_and_a_refusal_says_why(offline, live_server, worker, live_db,
                                                                       tmp_path, artifacts):
    photo = tmp_path / "现场.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (180, 20, 20)).save(buffer, format="JPEG")
    photo.write_bytes(buffer.getvalue())
    tab = offline(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, permissions=["geolocation"],
                  geolocation={"latitude": 28.455, "longitude": 119.885, "accuracy": 12})
    patrol = tab.page
    tab.log_in("outbox-worker", "/patrol")
    patrol.wait_for_function("() => !document.getElementById('checkin').disabled")
    patrol.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    report = tab.context.new_page()
    report.goto(f"{live_server}/hazards/new")
    report.wait_for_function("() => window.L && document.querySelector('#report-map svg')")

    tab.context.set_offline(True)
    patrol.fill("#note", "离线打卡")
    patrol.click("#checkin")
    patrol.wait_for_function(WAITING.format(n=1))

    report.select_option("#category", "fire")
    box = report.locator("#report-map").bounding_box()
    report.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    report.fill("#description", "离线上报：楼道堆物")
    report.set_input_files("#photo", str(photo))
    report.click("#submit")
    report.wait_for_function(WAITING.format(n=2))
    assert report.locator("#description").input_value() == ""  # kept on the phone, the form is free again
    # The household edit page (another part of #17) writes through the same outbox: two phones edited
    # OB-1 from version 1; this one's second edit reaches the server after its first.
    report.evaluate("""() => Promise.all([
        Outbox.add("household", {method: "PATCH", code: "OB-1", body: {version: 1, address: "中山街1号之一"}}),
        Outbox.add("household", {method: "PATCH", code: "OB-1", body: {version: 1, size: 4}})])""")
    report.close()
    patrol.reload()  # offline: the page from the service worker's cache, the outbox from IndexedDB
    patrol.wait_for_function(WAITING.format(n=4))
    waiting = patrol.eval_on_selector_all("#queue li", "els => els.map(e => [e.dataset.kind, e.textContent])")
    assert [k for k, _ in waiting] == ["checkin", "hazard", "household", "household"]
    assert all("等待上传" in t for _, t in waiting) and "照片 1 张" in waiting[1][1]
    patrol.screenshot(path=str(artifacts / "outbox-offline.png"), full_page=True)
    assert live_db.scalar(text("SELECT count(*) FROM checkin WHERE user_id = :u"), {"u": worker}) == 0
    assert live_db.scalar(text("SELECT count(*) FROM hazard WHERE reporter_id = :u"), {"u": worker}) == 0

    tab.context.set_offline(False)
    patrol.wait_for_function(WAITING.format(n=1), timeout=30000)
    refused = patrol.locator("#queue li.refused")
    assert "已被他人修改，请打开合并" in refused.inner_text()
    assert refused.locator("a").get_attribute("href") == "/households/OB-1/edit"
    patrol.screenshot(path=str(artifacts / "outbox-synced.png"), full_page=True)

    assert live_db.scalar(text("SELECT count(*) FROM checkin WHERE user_id = :u AND note = '离线打卡'"),
                          {"u": worker}) == 1
    hazards = live_db.execute(text("SELECT id, client_id FROM hazard WHERE reporter_id = :u"), {"u": worker}).all()
    assert len(hazards) == 1 and hazards[0].client_id is not None
    assert live_db.scalar(text("SELECT count(*) FROM hazard_photo WHERE hazard_id = :h AND client_id IS NOT NULL"),
                          {"h": hazards[0].id}) == 1
    assert live_db.execute(text("SELECT address, size, version FROM household WHERE code = 'OB-1'")).one() == (
        "中山街1号之一", None, 2)
    assert live_db.scalar(text("SELECT count(*) FROM household_client_write WHERE author_id = :u"), {"u": worker}) == 1
    # Discarded by the person who read why: gone from the phone, nothing sent.
    refused.locator("button.discard").click()
    patrol.wait_for_function(WAITING.format(n=0))
    assert tab.blocked == [], tab.blocked
    assert [u for u in tab.failed if "/api/v1/households/OB-1" not in u] == [], tab.failed
    assert patrol.evaluate("() => document.documentElement.scrollWidth") <= 390
