"""Issue #18's "Done when": one item walked through the UI from a resident's phone to the period report.

A resident (no login, a phone's viewport) files a report on /r/<grid> — the page solves the proof
of work, a photo, a pin on the map, a phone for the call back — and gets a tracking code. The
community's supervisor finds it in the grid's queue, accepts it and 吹哨s it to 消防 (the seeded
routing rule for 消防安全); 消防's user logs in on a phone, 报到s in its own queue and feeds back;
the supervisor verifies with a reply to the resident; the resident answers 满意 on the status page;
the supervisor closes it and opens this week's 平安报表: 消防 ranked with its on-time 报到 and the
grid's satisfaction rate. Every step goes through the pages' own forms and scripts (no step here
is API-only). The status page never shows a staff name, the phone or anyone's personal data, and
no request leaves 127.0.0.1 in any of the three browsers."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select, text

from gridmap.auth.service import create_user
from gridmap.departments.models import HazardAssignment
from gridmap.hazards.models import Hazard
from gridmap.public.models import PublicReport
from tests import factories as f

pytestmark = pytest.mark.browser

PHONE = "13912345678"
DESCRIPTION = "楼道里堆满纸箱，堵住了消防通道"
# Everything the resident's status page must never show: staff (names and usernames), the phone,
# the neighbours' data, the description and the staff's own notes.
NEVER_PUBLIC = ("社区书记老张", "e2e-sup", "紫金消防中队", "e2e-fire", PHONE, "5678", "吴邻居", "13800000077",
                "堵住了消防通道", "请今天到场清理", "纸箱已清运")


@pytest.fixture(scope="module")
def world(live_db):
    grids = f.lishui(live_db)["grids"]
    f.household(live_db, "E1", 119.8861, 28.4561, grids[f.GRID_A], head_name="吴邻居", phone="13800000077",
                address="丽景花园3幢2单元101")
    xiaofang = live_db.scalar(text("SELECT id FROM department WHERE code = 'xiaofang'"))
    create_user(live_db, "e2e-fire", "pass-word-1", "department", f.STREET, "紫金消防中队", department_id=xiaofang)
    create_user(live_db, "e2e-sup", "pass-word-1", "supervisor", f.COMMUNITY, "社区书记老张")
    live_db.commit()


def _no_outside(*tabs) -> None:
    for tab in tabs:
        assert tab.blocked == [], tab.blocked
        assert tab.console_errors == [], tab.console_errors


def _public_text(page) -> str:
    text_shown = page.locator("main").inner_text()
    leaked = [s for s in NEVER_PUBLIC if s in text_shown or s in page.content()]
    assert leaked == [], leaked
    return text_shown


def test_one_item_from_a_residents_phone_to_the_period_report(offline, live_server, live_db, world, tmp_path):
    phone = offline(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    office = offline(viewport={"width": 1366, "height": 768})
    duty = offline(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)

    # 1. The resident's phone: /r/<grid> without a login, a pin, a photo, a phone; the page's proof of work.
    photo = tmp_path / "通道.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (160, 40, 40)).save(buffer, format="JPEG")
    photo.write_bytes(buffer.getvalue())
    resident = phone.page
    resident.goto(f"{live_server}/r/{f.GRID_A}")
    resident.wait_for_function("() => window.L && document.querySelector('#public-map svg')")
    resident.select_option("#category", "fire")
    resident.fill("#description", DESCRIPTION)
    box = resident.locator("#public-map").bounding_box()
    resident.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    resident.wait_for_selector("#public-map .leaflet-marker-icon")
    resident.set_input_files("#photo", str(photo))
    resident.fill("#phone", PHONE)
    resident.click("#submit")
    resident.wait_for_selector("#done:not([hidden])", timeout=60_000)
    tracking = resident.locator("#tracking-code").inner_text().strip()
    resident.click("#status-link")
    resident.wait_for_url(f"**/r/status/{tracking}")
    assert resident.locator("#status").inner_text() == "待受理"
    assert "受理期限" in _public_text(resident)
    hazard_id = live_db.scalar(select(PublicReport.hazard_id).where(PublicReport.tracking_code == tracking))

    # 2. The community's supervisor: the grid's queue, accept, 吹哨 to the department that owns 消防安全.
    office.log_in("e2e-sup", f"/hazards?within={f.GRID_A}")
    sup = office.page
    row = sup.locator("table.hazard-table tr", has_text="楼道里堆满纸箱")
    assert row.count() == 1 and "待受理" in row.inner_text()
    row.locator("a").first.click()
    sup.wait_for_url(f"**/hazards/{hazard_id}")
    assert "居民反映" in sup.locator("dl.hazard-facts").inner_text() and PHONE not in sup.content()
    sup.click("form.hazard-action[data-action=accept] button[type=submit]")
    sup.wait_for_selector("form.hazard-action[data-action=whistle]")
    assert sup.locator("h1 .status").inner_text() == "已受理"
    whistle = sup.locator("form.hazard-action[data-action=whistle]")
    whistle.locator("input[name=note]").fill("请今天到场清理")
    assert whistle.locator("button").inner_text() == "吹哨（交办部门）"
    whistle.locator("button").click()
    sup.wait_for_selector("ol.timeline li[data-action=whistle]")
    assert sup.locator("h1 .status").inner_text() == "部门办理中"
    assert "消防" in sup.locator("ol.timeline li[data-action=whistle]").inner_text()

    # 3. 消防's user on a phone: its own queue, 报到 before the deadline, feedback with what it did.
    duty.log_in("e2e-fire", "/department")
    dept = duty.page
    item = dept.locator("li.duty-item")
    assert item.count() == 1 and item.get_attribute("data-state") == "waiting"
    shown = item.inner_text()
    assert "待报到" in shown and "报到期限" in shown and "请今天到场清理" in shown and "（已超期）" not in shown
    assert PHONE not in dept.content() and "吴邻居" not in dept.content()  # no resident's data for departments
    item.locator("button.report-for-duty").click()
    dept.wait_for_selector("li.duty-item[data-state=reported]")
    assert "已报到" in dept.locator("li.duty-item").inner_text()
    form = dept.locator("li.duty-item form[enctype='multipart/form-data']")
    form.locator("textarea[name=note]").fill("纸箱已清运，通道畅通")
    form.locator("button.duty-feedback").click()
    dept.wait_for_url("**/department?done=1")
    assert "已反馈" in dept.locator("li.duty-item[data-state=fed_back]").inner_text()
    assignment = live_db.scalar(select(HazardAssignment).where(HazardAssignment.hazard_id == hazard_id))
    assert assignment.reported_at <= assignment.report_by  # on time

    # 4. The supervisor verifies, with a reply the resident will read; close waits for the 回访.
    sup.reload()
    assert sup.locator("h1 .status").inner_text() == "已反馈"
    assert sup.locator("ol.timeline li").evaluate_all("items => items.map(i => i.dataset.action)") == [
        "report", "accept", "whistle", "report_for_duty", "duty_feedback"]
    verify = sup.locator("form.hazard-action[data-action=verify]")
    verify.locator("textarea[name=reply]").fill("消防通道已清理干净，感谢您的反映。")
    verify.locator("button").click()
    sup.wait_for_selector("form.hazard-action[data-action=revisit]")
    assert sup.locator("h1 .status").inner_text() == "已核查"
    assert sup.locator("form.hazard-action[data-action=close]").count() == 0  # the resident left a phone

    # 5. The resident's 回访 on the status page: 满意 (the page solves the proof of work again).
    resident.reload()
    assert resident.locator("#status").inner_text() == "已核查"
    assert resident.locator("#public-reply").inner_text() == "消防通道已清理干净，感谢您的反映。"
    _public_text(resident)
    resident.check("input[name=answer][value=satisfied]")
    resident.click("#satisfaction-submit")
    resident.wait_for_selector("#satisfaction-recorded:not([hidden])", timeout=60_000)
    assert resident.locator("#satisfaction-answer").inner_text() == "满意"

    # 6. The supervisor closes it and opens this week's 平安报表 (the last whole week, then 下一期).
    sup.reload()
    assert "满意" in sup.locator("ol.timeline li[data-action=revisit]").inner_text()
    sup.click("form.hazard-action[data-action=close] button[type=submit]")
    sup.wait_for_selector("h1 .status:text('已办结')")
    sup.goto(f"{live_server}/reports/safety?within={f.COMMUNITY}")
    sup.click("a[data-kind=week]")
    sup.wait_for_url("**period=*-W*")
    sup.click("#period-next")
    sup.wait_for_selector("table.department-ranking")
    ranked = sup.locator("table.department-ranking tr[data-department=xiaofang]")
    cells = ranked.locator("td").all_inner_texts()
    # 排名, 部门, 交办, 按时报到, 按时报到率, 报到超期未报, 已反馈, 已办结, 办结率
    assert cells[:1] + cells[2:] == ["1", "1", "1", "100.0%", "0", "1", "1", "100.0%"] and "消防" in cells[1]
    grid_row = sup.locator(f"table.safety-table tr[data-code='{f.GRID_A}']")
    satisfaction = grid_row.locator("td[data-column=satisfaction_rate]")
    assert satisfaction.inner_text() == "100.0%" and satisfaction.get_attribute("data-colour") == "green"

    # 7. The resident sees it closed; still no staff name, phone or anyone's data.
    resident.reload()
    assert resident.locator("#status").inner_text() == "已办结" and "办结时间" in _public_text(resident)
    assert live_db.scalar(select(Hazard.status).where(Hazard.id == hazard_id)) == "closed"
    _no_outside(phone, office, duty)
