"""The top bar's 待办 badge on a phone: it shows the count, follows a supervisor's 督办 note made
through the API within the poll interval without a reload, stops asking while the tab is hidden and
asks at once when it shows again; the /inbox page lists the note. Nothing is fetched from outside."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service as hazards
from tests import factories as f

pytestmark = pytest.mark.browser

POLL_S = 2


@pytest.fixture(scope="module")
def world(app, live_db):
    settings = app.config["GRIDMAP"]
    app.config["GRIDMAP"] = dataclasses.replace(settings, inbox_poll_s=POLL_S)
    f.lishui(live_db)
    create_user(live_db, "inbox-worker", "pass-word-1", "grid_worker", f.GRID_A, "网格员甲")
    supervisor = f.token_for(live_db, "supervisor", f.STREET, username="inbox-sup", display_name="街道督导")
    hazard = hazards.report(live_db, Scope.everything(), category="fire", severity="normal", description="楼道堵塞",
                            lon=119.884, lat=28.455, crs=None)["id"]
    worker_id = live_db.scalar(text("SELECT id FROM app_user WHERE username = 'inbox-worker'"))
    live_db.execute(text("UPDATE hazard SET status = 'assigned', assignee_id = :w, resolve_by = :far WHERE id = :id"),
                    {"w": worker_id, "far": datetime.now(UTC) + timedelta(days=5), "id": hazard})
    live_db.commit()
    yield {"supervisor": supervisor, "hazard": hazard}
    app.config["GRIDMAP"] = settings


def _count(page) -> str:
    return page.get_attribute("#inbox-badge", "data-count") or ""


def test_the_badge_follows_a_new_supervise_note_without_a_reload(offline, live_server, world):
    tab = offline(viewport={"width": 390, "height": 844})
    asked: list[float] = []
    tab.page.on("request", lambda r: "/api/v1/inbox/count" in r.url and asked.append(time.monotonic()))
    tab.log_in("inbox-worker", "/hazards")
    page = tab.page
    assert page.is_visible("#inbox-badge")
    page.wait_for_function("() => document.querySelector('#inbox-badge').dataset.count === '1'", timeout=5000)
    assert page.inner_text("#inbox-badge .inbox-count") == "1"   # the assigned hazard
    page.evaluate("() => { window.__sameDocument = true; }")

    answer = tab.context.request.post(f"{live_server}/api/v1/hazards/{world['hazard']}/actions",
                                      headers=f.auth(world["supervisor"]),
                                      data={"action": "supervise", "note": "今天下班前处理完"})
    assert answer.status == 200, answer.text()
    written = time.monotonic()
    page.wait_for_function("() => document.querySelector('#inbox-badge').dataset.count === '2'",
                           timeout=(POLL_S + 2) * 1000)
    assert time.monotonic() - written <= POLL_S + 2
    assert page.evaluate("() => window.__sameDocument") is True   # no reload

    # hidden: no more asking; shown again: asked at once
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_timeout(300)
    before = len(asked)
    page.wait_for_timeout(POLL_S * 2500)
    assert len(asked) == before
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    page.wait_for_timeout(800)
    assert len(asked) == before + 1

    page.click("#inbox-badge")
    page.wait_for_url("**/inbox")
    notes = page.inner_text("#section-supervised")
    assert "今天下班前处理完" in notes and "街道督导 督办" in notes
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert tab.blocked == [] and tab.console_errors == []
