"""The closed loop worked through the pages by two people, as #6's "done when" describes:
the community supervisor accepts and assigns from the queue, the grid worker starts and
reports back from their own queue, the supervisor verifies and closes, then finds the
hazard counted as closed on time in this month's 平安报表 and downloads it."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.hazards import service
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hazard(live_db):
    f.lishui(live_db)
    create_user(live_db, "loop-supervisor", "pass-word-1", "supervisor", f.COMMUNITY, "社区书记老张")
    create_user(live_db, "loop-worker", "pass-word-1", "grid_worker", f.GRID_A, "网格员小周")
    reported = service.report(live_db, Scope.everything(), category="fire", severity="normal",
                              description="楼道堆放纸箱", lon=119.8851, lat=28.4550, crs=None)
    live_db.commit()
    return reported


def _act(page, action: str, note: str = "") -> None:
    form = page.locator(f"form.hazard-action[data-action={action}]")
    if note:
        form.locator("input[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"ol.timeline li[data-action={action}]")


def _actions(page) -> list[str]:
    return page.locator("form.hazard-action[data-action]").evaluate_all("forms => forms.map(f => f.dataset.action)")


def test_supervisor_and_worker_close_the_loop_then_export_the_report(offline, live_server, hazard):
    supervisor_tab = offline()
    supervisor = supervisor_tab.page
    supervisor_tab.log_in("loop-supervisor", "/hazards")
    supervisor.click(f"text={hazard['code']}")
    supervisor.wait_for_url(f"**/hazards/{hazard['id']}")
    assert _actions(supervisor)[:2] == ["accept", "reject"]
    _act(supervisor, "accept")
    supervisor.locator("form.hazard-action[data-action=assign] select").select_option("loop-worker")
    _act(supervisor, "assign", "请今天清理")

    worker_tab = offline(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    worker = worker_tab.page
    worker_tab.log_in("loop-worker", "/hazards")
    assert hazard["code"] in worker.locator("table").inner_text()
    worker.click(f"text={hazard['code']}")
    assert _actions(worker)[0] == "start"
    _act(worker, "start")
    _act(worker, "feedback", "纸箱已清走，楼道畅通")
    assert _actions(worker) == []  # verifying is the supervisor's part

    supervisor.reload()
    _act(supervisor, "verify")
    _act(supervisor, "close", "现场复核无误")
    timeline = supervisor.locator("ol.timeline li").evaluate_all("items => items.map(i => i.dataset.action)")
    assert timeline == ["report", "accept", "assign", "start", "feedback", "verify", "close"]
    assert "纸箱已清走" in supervisor.locator("ol.timeline").inner_text()
    assert "已办结" in supervisor.content()

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    supervisor.goto(f"{live_server}/reports/safety?month={month}")
    assert supervisor.locator(f"tr:has-text('{f.GRID_A}')").count() == 1
    with supervisor.expect_download() as download_info:
        supervisor.click("#download-csv")
    text = open(download_info.value.path(), encoding="utf-8-sig").read()
    record = next(r for r in csv.DictReader(io.StringIO(text)) if r["编码"] == f.GRID_A)
    assert (record["发现数"], record["办结数"], record["超期数"]) == ("1", "1", "0")

    for tab in (supervisor_tab, worker_tab):
        assert tab.blocked == [], tab.blocked
        assert tab.failed == [], tab.failed
        assert tab.console_errors == [], tab.console_errors
