"""The resident's 回访 on the phone, no login: the status page of a verified item shows the
community's reply and the answer form; the page's script solves the proof of work, sends 满意 and
shows it recorded. Every request outside the app is blocked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gridmap.auth.scope import Scope
from gridmap.hazards import service as hazards
from gridmap.hazards.models import Hazard, HazardRevisit
from gridmap.public import service as public
from gridmap.public.models import PublicReport
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def verified(live_db):
    f.lishui(live_db)
    tracking = public.new_tracking_code()

    def attach(hazard_id: int) -> None:
        live_db.add(PublicReport(tracking_code=tracking, hazard_id=hazard_id, phone="13912345678"))
        live_db.flush()

    resident = Scope(prefix=f.GRID_A, role="resident", username="resident")
    item = hazards.report(live_db, resident, category="fire", severity="normal", description="楼道堆放杂物",
                          lon=119.884, lat=28.455, crs=None, source="resident", attach=attach)
    live_db.execute(Hazard.__table__.update().where(Hazard.id == item["id"]).values(revisit_required=True))
    live_db.commit()
    boss = Scope(prefix="", role="admin")
    f.token_for(live_db, "grid_worker", f.GRID_A, username="gw-sat")
    live_db.commit()
    for action, extra in (("accept", {}), ("assign", {"assignee": "gw-sat"}), ("start", {}), ("feedback", {}),
                          ("verify", {"reply": "杂物已清走，通道畅通。"})):
        hazards.act(live_db, boss, item["id"], action, **extra)
    return tracking, item["id"]


def test_the_resident_answers_satisfied_on_the_phone(offline, live_server, live_db, verified, artifacts):
    tracking, hazard_id = verified
    tab = offline(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = tab.page
    page.goto(f"{live_server}/r/status/{tracking}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#public-reply").inner_text() == "杂物已清走，通道畅通。"
    assert page.locator("#satisfaction-recorded").is_hidden()
    page.check("input[name=answer][value=satisfied]")
    page.fill("#satisfaction-comment", "谢谢")
    page.screenshot(path=str(artifacts / "public-satisfaction-390.png"), full_page=True)
    page.click("#satisfaction-submit")
    page.wait_for_selector("#satisfaction-recorded:not([hidden])", timeout=60_000)
    assert page.locator("#satisfaction-answer").inner_text() == "满意"
    assert page.locator("#satisfaction-form").is_hidden()
    text = page.locator("main").inner_text()
    assert "13912345678" not in text and "5678" not in text and "gw-sat" not in text
    page.reload()  # answered once: the form is gone, the answer stays
    assert page.locator("#satisfaction-answer").inner_text() == "满意" and page.locator("#satisfaction-form").count() == 0
    row = live_db.scalar(select(HazardRevisit).where(HazardRevisit.hazard_id == hazard_id))
    assert (row.answer, row.channel, row.note) == ("satisfied", "status_page", "谢谢")
    assert tab.blocked == [], tab.blocked
    assert tab.failed == [], tab.failed
    assert tab.console_errors == [], tab.console_errors
