"""Everything the phone writes waits in one outbox while it is offline: a check-in, a hazard report
with a photo, a fix on the spot with photos before and after, household edits, and (on a party
member's phone) a visit, listed as waiting on every page that writes (and after a reload); back
online each is stored exactly once, and an edit another phone got in first is kept as refused
with its reason and a link to merge."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.party import service as party
from tests import factories as f

pytestmark = pytest.mark.browser

WAITING = "() => document.getElementById('queued-count').textContent === '{n}'"
# The report form after an item was kept on the phone: the count shows it as soon as it is stored,
# the form is emptied once the attempt to send it has failed.
FREED = "() => document.getElementById('description').value === '' && !document.getElementById('submit').disabled"


@pytest.fixture(scope="module")
def worker(live_db):
    world = f.lishui(live_db)
    f.household(live_db, "OB-1", 119.8852, 28.4551, world["grids"][f.GRID_A], address="中山街1号")
    f.household(live_db, "OB-2", 119.8860, 28.4560, world["grids"][f.GRID_A], address="中山街2号")
    user = create_user(live_db, "outbox-worker", "pass-word-1", "grid_worker", f.GRID_A, "赵网格员")
    live_db.commit()
    member_id = party.create_member(live_db, Scope.everything(), {"name": "党员丙", "household_code": "OB-2"})["id"]
    party.set_contact(live_db, Scope.everything(), member_id, "OB-2")
    create_user(live_db, "outbox-member", "pass-word-1", "party_member", f.GRID_A, "党员丙", party_member_id=member_id)
    live_db.commit()
    return user.id


def _jpeg(path, colour):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_offline_writes_of_every_kind_sync_once_and_a_refusal_says_why(offline, live_server, worker, live_db,
                                                                       tmp_path, artifacts):
    photo = _jpeg(tmp_path / "现场.jpg", (180, 20, 20))
    before, after = _jpeg(tmp_path / "处置前.jpg", (120, 90, 20)), _jpeg(tmp_path / "处置后.jpg", (20, 160, 40))
    tab = offline(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, permissions=["geolocation"],
                  geolocation={"latitude": 28.455, "longitude": 119.885, "accuracy": 12})
    patrol = tab.page
    tab.log_in("outbox-worker", "/patrol")
    patrol.wait_for_function("() => !document.getElementById('checkin').disabled")
    patrol.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    report = tab.context.new_page()
    report.goto(f"{live_server}/hazards/new")
    report.wait_for_function("() => window.L && document.querySelector('#report-map svg')")

    tab.set_offline(True)
    patrol.fill("#note", "离线打卡")
    patrol.click("#checkin")
    patrol.wait_for_function(WAITING.format(n=1))

    report.select_option("#category", "fire")
    box = report.locator("#report-map").bounding_box()
    report.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    report.fill("#description", "离线上报：楼道堆物")
    report.set_input_files("#photo", photo)
    report.click("#submit")
    report.wait_for_function(WAITING.format(n=2))
    report.wait_for_function(FREED)  # kept on the phone, the form is free again, and it says so
    report.wait_for_function("() => document.getElementById('sync-status').textContent.includes('已保存在手机上')")
    # 现场已解决: the fix and both photos wait as one item
    report.check("#on-the-spot")
    report.fill("#description", "离线就地解决：杂物已清理")
    report.set_input_files("#photo", before)
    report.set_input_files("#after-photo", after)
    report.click("#submit")
    report.wait_for_function(WAITING.format(n=3))
    report.wait_for_function(FREED)
    assert report.locator("#after-photo").input_value() == ""
    # The household edit page (another part of #17) writes through the same outbox: two phones edited
    # OB-1 from version 1; this one's second edit reaches the server after its first.
    # (one after the other: two adds within one millisecond would tie on created_at)
    report.evaluate("""() => Outbox.add("household", {method: "PATCH", code: "OB-1",
                                                      body: {version: 1, address: "中山街1号之一"}})
        .then(() => new Promise(r => setTimeout(r, 5)))
        .then(() => Outbox.add("household", {method: "PATCH", code: "OB-1", body: {version: 1, size: 4}}))""")
    # A colleague's check-in left on this phone: never sent under this user's name.
    report.evaluate("""() => { const id = Outbox.uuid();
        return Outbox.add("checkin", {id: id, lon: 119.885, lat: 28.455, accuracy_m: 5,
                                      recorded_at: new Date().toISOString(), note: "别人的打卡"}, [], id)
          .then(item => { item.author = "999999"; return Outbox.io.save(item); }); }""")
    report.close()
    patrol.reload()  # offline: the page from the service worker's cache, the outbox from IndexedDB
    patrol.wait_for_function(WAITING.format(n=6))
    waiting = patrol.eval_on_selector_all("#queue li", "els => els.map(e => [e.dataset.kind, e.textContent])")
    assert [k for k, _ in waiting] == ["checkin", "hazard", "fix", "household", "household", "checkin"]
    assert all("等待上传" in t for _, t in waiting[:5]) and "照片 1 张" in waiting[1][1]
    assert "另一用户的记录" in waiting[5][1]
    assert "就地解决" in waiting[2][1] and "照片 2 张" in waiting[2][1]
    patrol.screenshot(path=str(artifacts / "outbox-offline.png"), full_page=True)
    assert live_db.scalar(text("SELECT count(*) FROM checkin WHERE user_id = :u"), {"u": worker}) == 0
    assert live_db.scalar(text("SELECT count(*) FROM hazard WHERE reporter_id = :u"), {"u": worker}) == 0

    # A party member's phone, offline too: the visit waits in its own outbox.
    phone = offline(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                    permissions=["geolocation"], geolocation={"latitude": 28.456, "longitude": 119.886, "accuracy": 9})
    visits = phone.page
    phone.log_in("outbox-member", "/party/visits")
    visits.wait_for_function("() => document.getElementById('position').textContent.includes('119.88600')")
    phone.set_offline(True)
    card = visits.locator("li.household[data-code='OB-2']")
    card.locator("button.log").click()
    visits.fill("#visit-note", "离线走访：一切安好")
    visits.click("#visit-submit")
    visits.wait_for_function("() => document.getElementById('visit-status').textContent.startsWith('已保存在手机上')")
    assert visits.locator("#queued-count").inner_text() == "1"
    assert "待上传" in card.locator(".last-visit").inner_text()
    assert "走访" in visits.locator("#queue li[data-kind='visit']").inner_text()
    visits.screenshot(path=str(artifacts / "outbox-visit-offline.png"), full_page=True)
    assert live_db.scalar(text("SELECT count(*) FROM party_visit")) == 0

    tab.set_offline(False)
    phone.set_offline(False)
    visits.wait_for_function(WAITING.format(n=0), timeout=30000)
    patrol.wait_for_function(WAITING.format(n=2), timeout=30000)
    refused = patrol.locator("#queue li.refused")
    assert "已被他人修改，请打开合并" in refused.inner_text()
    assert refused.locator("a").get_attribute("href") == "/households/OB-1/edit"
    patrol.screenshot(path=str(artifacts / "outbox-synced.png"), full_page=True)

    assert live_db.scalar(text("SELECT count(*) FROM checkin WHERE user_id = :u AND note = '离线打卡'"),
                          {"u": worker}) == 1
    assert live_db.scalar(text("SELECT count(*) FROM checkin WHERE note = '别人的打卡'")) == 0
    hazards = live_db.execute(text("SELECT id, client_id FROM hazard WHERE reporter_id = :u AND resolution IS NULL"),
                              {"u": worker}).all()
    assert len(hazards) == 1 and hazards[0].client_id is not None
    assert live_db.scalar(text("SELECT count(*) FROM hazard_photo WHERE hazard_id = :h AND client_id IS NOT NULL"),
                          {"h": hazards[0].id}) == 1
    fixes = live_db.execute(text("SELECT id, status, resolution FROM hazard WHERE reporter_id = :u"
                                 " AND client_id IS NOT NULL AND resolution IS NOT NULL"), {"u": worker}).all()
    assert [(h.status, h.resolution) for h in fixes] == [("closed", "on_the_spot")]
    assert live_db.execute(text("SELECT stage FROM hazard_photo WHERE hazard_id = :h ORDER BY n"),
                           {"h": fixes[0].id}).scalars().all() == ["before", "after"]
    assert live_db.execute(text("SELECT h.code, v.note FROM party_visit v JOIN household h ON h.id = v.household_id"
                                " WHERE v.client_id IS NOT NULL")).all() == [("OB-2", "离线走访：一切安好")]
    assert live_db.execute(text("SELECT address, size, version FROM household WHERE code = 'OB-1'")).one() == (
        "中山街1号之一", None, 2)
    assert live_db.scalar(text("SELECT count(*) FROM household_client_write WHERE author_id = :u"), {"u": worker}) == 1
    # Discarded by the person who read why: gone from the phone, nothing sent.
    refused.locator("button.discard").click()
    patrol.wait_for_function(WAITING.format(n=1))
    assert tab.blocked == [] and phone.blocked == [], (tab.blocked, phone.blocked)
    errors = [e for e in phone.console_errors if "ERR_INTERNET_DISCONNECTED" not in e]  # the offline send
    assert phone.failed == [] and errors == [], (phone.failed, phone.console_errors)
    assert [u for u in tab.failed if "/api/v1/households/OB-1" not in u] == [], tab.failed
    assert patrol.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert visits.evaluate("() => document.documentElement.scrollWidth") <= 390
