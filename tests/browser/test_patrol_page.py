"""The phone check-in page works offline: check-ins wait in IndexedDB, the page reopens
from the service worker's cache, and back online each check-in is stored exactly once."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import text

from gridmap.auth.service import create_user
from tests import factories as f

pytestmark = pytest.mark.browser

QUEUED = "() => document.getElementById('queued-count').textContent === '{n}'"


@pytest.fixture(scope="module")
def worker(live_db):
    world = f.lishui(live_db)
    f.household(live_db, "P-1", 119.8852, 28.4551, world["grids"][f.GRID_A], tags=["孤寡老人"],
                address="丽水市莲都区中山街1号")
    f.household(live_db, "P-2", 119.8890, 28.4590, world["grids"][f.GRID_A])
    user = create_user(live_db, "patrol-worker", "pass-word-1", "grid_worker", f.GRID_A, "王网格员")
    live_db.commit()
    return user.id


def test_offline_checkins_are_queued_and_stored_exactly_once(offline, live_server, worker, live_db, artifacts):
    tab = offline(viewport={"width": 360, "height": 740}, permissions=["geolocation"],
                  geolocation={"latitude": 28.455, "longitude": 119.885, "accuracy": 12})
    page = tab.page
    page.goto(f"{live_server}/patrol")
    assert "/login" in page.url
    page.fill("input[name=username]", "patrol-worker")
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/patrol")
    page.wait_for_function("() => !document.getElementById('checkin').disabled")
    page.wait_for_function("() => document.getElementById('grid').textContent.includes('城北社区第1网格')")
    page.wait_for_function("() => document.querySelectorAll('#household option').length === 3")
    first_option = page.locator("#household option").nth(1).inner_text()
    assert first_option.startswith("★") and "P-1" in first_option      # nearest first, 五必访 due
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)

    tab.set_offline(True)
    page.select_option("#household", "P-1")
    page.fill("#note", "离线打卡一")
    page.click("#checkin")
    page.wait_for_function(QUEUED.format(n=1))
    page.fill("#note", "离线打卡二")
    page.click("#checkin")
    page.wait_for_function(QUEUED.format(n=2))
    assert live_db.scalar(text("SELECT count(*) FROM checkin WHERE user_id = :u"), {"u": worker}) == 0

    # With no network the page opens from the service worker's cache, queue intact.
    page.reload()
    page.wait_for_function(QUEUED.format(n=2))
    assert page.locator("#net").inner_text() == "离线"
    queued_ids = page.eval_on_selector_all("#queue li", "els => els.map(e => e.dataset.id)")
    page.screenshot(path=str(artifacts / "patrol-offline.png"))

    tab.set_offline(False)
    page.wait_for_function(QUEUED.format(n=0), timeout=30000)
    page.wait_for_function("() => document.querySelectorAll('#done li').length === 2")
    rows = live_db.execute(text(
        "SELECT c.id::text, c.note, h.code FROM checkin c LEFT JOIN household h ON h.id = c.household_id"
        " WHERE c.user_id = :u ORDER BY c.recorded_at"), {"u": worker}).all()
    assert sorted(r.id for r in rows) == sorted(queued_ids)
    # the phone's ids are time-ordered UUIDv7 (recorded now, to the millisecond)
    assert {uuid.UUID(i).version for i in queued_ids} == {7}
    assert all(abs(int(i.replace("-", "")[:12], 16) / 1000 - time.time()) < 600 for i in queued_ids)
    assert [(r.note, r.code) for r in rows] == [("离线打卡一", "P-1"), ("离线打卡二", None)]
    assert live_db.scalar(text("SELECT count(*) FROM checkin_key WHERE user_id = :u"), {"u": worker}) == 2
    page.screenshot(path=str(artifacts / "patrol-synced.png"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed


def test_supervisor_patrol_map_shows_the_track_with_nothing_from_outside(offline, live_server, worker, live_db):
    from datetime import UTC, datetime, timedelta

    from gridmap.auth.models import User
    from gridmap.auth.service import scope_of
    from gridmap.clock import as_local
    from gridmap.config import PatrolRules
    from gridmap.patrol.service import record_checkins

    user = live_db.get(User, worker)
    # the track at noon of a day already past noon in Beijing, shown by that day's map: a run
    # across Beijing midnight (16:00 UTC) left "ten minutes ago" on yesterday's map
    local_now = as_local(datetime.now(UTC))
    noon = local_now.replace(hour=12, minute=0, second=0, microsecond=0)
    noon = noon if noon < local_now else noon - timedelta(days=1)
    record_checkins(live_db, scope_of(user), [
        {"id": str(uuid.uuid4()), "lon": 119.881 + k * 0.002, "lat": 28.455, "accuracy_m": 10,
         "recorded_at": (noon + timedelta(minutes=k)).isoformat()} for k in range(3)], rules=PatrolRules())
    create_user(live_db, "patrol-sup", "pass-word-1", "supervisor", f.STREET, "紫金街道督导")
    live_db.commit()
    tab = offline(viewport={"width": 1200, "height": 800})
    page = tab.page
    page.goto(f"{live_server}/maps/patrol?date={noon.date().isoformat()}")
    page.fill("input[name=username]", "patrol-sup")
    page.fill("input[name=password]", "pass-word-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/maps/patrol?date=*")
    page.wait_for_function("() => window.L !== undefined && document.querySelectorAll('path.patrol-checkin').length >= 3")
    assert page.locator('#patrol-workers tr[data-user="patrol-worker"]').count() == 1
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
