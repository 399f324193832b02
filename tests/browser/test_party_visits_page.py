"""The party member's phone page: their contact households with the last visit, and a visit
logged with a note and the phone's position, stored once with a client UUID."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.auth.service import create_user
from gridmap.party import service as party
from tests import factories as f

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def member(live_db):
    world = f.lishui(live_db)
    f.household(live_db, "V-1", 119.8852, 28.4551, world["grids"][f.GRID_A], head_name="张三",
                address="丽水市莲都区中山街1号")
    f.household(live_db, "V-2", 119.8860, 28.4560, world["grids"][f.GRID_A], head_name="李四",
                address="丽水市莲都区中山街2号")
    f.household(live_db, "V-3", 119.8870, 28.4570, world["grids"][f.GRID_A], head_name="王五")
    live_db.commit()
    everything = Scope.everything()
    member_id = party.create_member(live_db, everything, {"name": "党员甲", "household_code": "V-1"})["id"]
    other = party.create_member(live_db, everything, {"name": "党员乙", "household_code": "V-3"})["id"]
    party.set_contact(live_db, everything, member_id, "V-1")
    party.set_contact(live_db, everything, member_id, "V-2")
    party.set_contact(live_db, everything, other, "V-3")
    create_user(live_db, "visit-member", "pass-word-1", "party_member", f.GRID_A, "党员甲",
                party_member_id=member_id)
    live_db.commit()
    return member_id


def test_a_party_member_logs_a_visit_from_the_phone(offline, live_server, member, live_db, artifacts):
    tab = offline(viewport={"width": 390, "height": 844}, permissions=["geolocation"],
                  geolocation={"latitude": 28.4551, "longitude": 119.8852, "accuracy": 9})
    page = tab.page
    tab.log_in("visit-member", "/party/visits")
    assert page.locator("li.household").count() == 2 and "王五" not in page.content()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # fits the phone
    page.wait_for_function("() => document.getElementById('position').textContent.includes('119.88520')")
    assert page.locator("#due-count").inner_text() == "2"

    card = page.locator("li.household[data-code='V-2']")
    card.locator("button.log").click()
    assert page.locator("#visit-household").inner_text().startswith("丽水市莲都区中山街2号")
    page.fill("#visit-note", "老人身体好，反映楼道灯坏了")
    page.click("#visit-submit")
    page.wait_for_function("() => document.getElementById('visit-status').textContent.startsWith('已保存')")
    assert "本月已走访" in card.locator(".last-visit").inner_text()
    assert page.locator("#due-count").inner_text() == "1"
    page.screenshot(path=str(artifacts / "party-visits-phone.png"))

    rows = live_db.execute(text(
        "SELECT h.code, v.note, ST_X(v.geom), ST_Y(v.geom), v.accuracy_m, v.client_id "
        "FROM party_visit v JOIN household h ON h.id = v.household_id WHERE v.party_member_id = :m"),
        {"m": member}).all()
    assert len(rows) == 1
    code, note, lon, lat, accuracy, client_id = rows[0]
    assert (code, note) == ("V-2", "老人身体好，反映楼道灯坏了") and accuracy == 9 and client_id is not None
    assert lon == pytest.approx(119.8852, abs=1e-6) and lat == pytest.approx(28.4551, abs=1e-6)

    # Reopened, the page shows the visit as the household's last, with its note.
    page.reload()
    card = page.locator("li.household[data-code='V-2']")
    assert "本月已走访" in card.locator(".last-visit").inner_text()
    assert card.locator(".last-note").inner_text() == "老人身体好，反映楼道灯坏了"
    assert tab.blocked == [] and tab.console_errors == []
