"""A department user on a phone (outside requests blocked): opens /department, finds the item the
community whistled to it with its 报到 deadline, 报到s, feeds back with a photo; the item then
waits for the community's verification, and the 平安报表 ranks the department."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.departments import service as departments
from gridmap.hazards import service
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def whistled(live_db):
    f.lishui(live_db)
    xiaofang = live_db.scalar(text("SELECT id FROM department WHERE code = 'xiaofang'"))
    create_user(live_db, "dept-fire", "pass-word-1", "department", f.STREET, "紫金消防中队", department_id=xiaofang)
    create_user(live_db, "dept-sup", "pass-word-1", "supervisor", f.COMMUNITY, "社区书记老张")
    hazard = service.report(live_db, Scope.everything(), category="fire", severity="normal",
                            description="消防通道被占用", lon=119.8851, lat=28.4550, crs=None)
    service.act(live_db, Scope.everything(), hazard["id"], "accept")
    departments.whistle(live_db, Scope(prefix=f.COMMUNITY, role="supervisor"), hazard["id"], note="请尽快清理通道",
                        default_days=1)
    live_db.commit()
    return hazard


def test_a_department_reports_for_duty_and_feeds_back_on_a_phone(offline, live_server, whistled, tmp_path):
    tab = offline(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = tab.page
    tab.log_in("dept-fire", "/department")
    item = page.locator("li.duty-item")
    assert item.count() == 1 and item.get_attribute("data-state") == "waiting"
    text_shown = item.inner_text()
    assert "消防通道被占用" in text_shown and "请尽快清理通道" in text_shown and "报到期限" in text_shown
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # fits the phone
    item.locator("button.report-for-duty").click()
    page.wait_for_selector("li.duty-item[data-state=reported]")
    photo = tmp_path / "after.png"
    photo.write_bytes(f.png(16))
    form = page.locator("li.duty-item form[enctype='multipart/form-data']")
    form.locator("textarea[name=note]").fill("通道已清理，占道车辆已挪走")
    form.locator("input[type=file]").set_input_files(str(photo))
    form.locator("button.duty-feedback").click()
    page.wait_for_url("**/department?done=1")
    done = page.locator("li.duty-item[data-state=fed_back]")
    assert done.count() == 1 and "通道已清理" in done.inner_text()
    assert page.locator("li.duty-item img").evaluate("img => img.complete && img.naturalWidth > 0")
    page.goto(f"{live_server}/department")
    assert "暂无交办事项" in page.locator(".empty-state").inner_text()
    assert tab.blocked == [] and tab.console_errors == []

    supervisor_tab = offline()
    supervisor_tab.log_in("dept-sup", f"/hazards/{whistled['id']}")
    sup = supervisor_tab.page
    timeline = sup.locator("ol.timeline li").evaluate_all("items => items.map(i => i.dataset.action)")
    assert timeline == ["report", "accept", "whistle", "report_for_duty", "duty_feedback"]
    assert "已反馈" in sup.locator(".status, dl").first.inner_text() or "已反馈" in sup.content()
    assert sup.locator("form.hazard-action[data-action=verify]").count() == 1
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    sup.goto(f"{live_server}/reports/safety?month={month}")
    row = sup.locator("table.department-ranking tr[data-department=xiaofang]")
    assert row.count() == 1 and "100.0%" in row.inner_text()
