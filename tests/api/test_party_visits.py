"""Party members' visits (走访): logged from the phone to one of their own contact households,
idempotent by the phone's UUID, listed by area and month (masked as every household read), the
households still due this month, the month's coverage on the 平安报表, the 民情地图's last visit."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.config import Settings
from gridmap.coordinates import point_to_wgs84
from gridmap.hazard_stats import safety
from gridmap.party import service as party
from gridmap.party import visits
from tests import factories as f

ADMIN = Scope.everything()
APRIL = datetime(2026, 4, 15, 2, tzinfo=UTC)
LATER = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def world(db_session):
    grids = f.lishui(db_session)["grids"]
    f.household(db_session, "A1", 119.882, 28.455, grids[f.GRID_A], head_name="张三", phone="13800000001")
    f.household(db_session, "A2", 119.884, 28.455, grids[f.GRID_A], head_name="李四", phone="13800000002")
    f.household(db_session, "A3", 119.886, 28.455, grids[f.GRID_A], head_name="王五", phone="13800000003")
    f.household(db_session, "B1", 119.895, 28.455, grids[f.GRID_B], head_name="赵六", phone="13800000004")
    db_session.commit()
    mine = party.create_member(db_session, ADMIN, {"name": "党员甲", "household_code": "A1"})["id"]
    other = party.create_member(db_session, ADMIN, {"name": "党员乙", "household_code": "A3"})["id"]
    for member, code in ((mine, "A1"), (mine, "A2"), (other, "A3")):
        party.set_contact(db_session, ADMIN, member, code)
    return {"mine": mine, "other": other,
            "me": f.token_for(db_session, "party_member", f.GRID_A, username="pm-me", party_member_id=mine),
            "them": f.token_for(db_session, "party_member", f.GRID_A, username="pm-them", party_member_id=other)}


def _visit(household="A1", **extra):
    return {"client_id": str(uuid.uuid4()), "household_code": household, "note": "家中一切正常",
            "recorded_at": "2026-04-15T10:00:00+08:00", **extra}


def _count(db_session) -> int:
    return db_session.scalar(text("SELECT count(*) FROM party_visit"))


def _me(world) -> Scope:
    return Scope(prefix=f.GRID_A, role="party_member", username="pm-me", party_member_id=world["mine"])


def test_a_visit_is_stored_with_the_phone_position_in_wgs84(client, db_session, world):
    body = _visit(lon=119.8866, lat=28.4527, crs="gcj02", accuracy_m=12)
    response = client.post("/api/v1/party-visits", json=body, headers=f.auth(world["me"]))
    assert response.status_code == 201, response.get_json()
    visit = response.get_json()
    assert visit["household"] == "A1" and visit["grid"] == f.GRID_A and visit["note"] == "家中一切正常"
    assert visit["visited_at"] == "2026-04-15T10:00:00+08:00" and visit["client_id"] == body["client_id"]
    lon, lat = point_to_wgs84(119.8866, 28.4527, "gcj02")
    assert visit["lon"] == pytest.approx(lon, abs=1e-7) and visit["lat"] == pytest.approx(lat, abs=1e-7)
    assert abs(visit["lon"] - 119.8866) > 0.003  # shifted back from GCJ-02 (about 500 m here)
    assert visit["received_at"] is not None and _count(db_session) == 1


def test_a_replayed_client_id_returns_the_stored_visit_and_writes_nothing(client, db_session, world):
    body = _visit()
    first = client.post("/api/v1/party-visits", json=body, headers=f.auth(world["me"]))
    again = client.post("/api/v1/party-visits", json={**body, "note": "改过的"}, headers=f.auth(world["me"]))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json() and again.get_json()["note"] == "家中一切正常"
    assert _count(db_session) == 1
    taken = client.post("/api/v1/party-visits", json={**body, "household_code": "A3"}, headers=f.auth(world["them"]))
    assert (taken.status_code, taken.get_json()["error"]["code"]) == (409, "visit_id_taken")
    assert _count(db_session) == 1


@pytest.mark.parametrize("household", ["A3", "B1", "NOPE"], ids=["another member's contact in the own grid",
                                                                 "a household of another grid", "no such household"])
def test_only_own_contacts_may_be_visited(client, db_session, world, household):
    response = client.post("/api/v1/party-visits", json=_visit(household), headers=f.auth(world["me"]))
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "household_not_found")
    assert _count(db_session) == 0


@pytest.mark.parametrize("role, scope", [("grid_worker", f.GRID_A), ("supervisor", f.STREET), ("admin", "")])
def test_only_a_party_member_logs_visits(client, db_session, world, role, scope):
    token = f.token_for(db_session, role, scope)
    assert client.post("/api/v1/party-visits", json=_visit(), headers=f.auth(token)).status_code == 403


@pytest.mark.parametrize("body, status", [
    ({"recorded_at": "2099-01-01T00:00:00+08:00"}, 422),      # a visit in the future
    ({"recorded_at": "2026-04-15T10:00:00"}, 400),            # no offset: whose 10 o'clock?
    ({"lon": 119.88}, 400),                                   # lon without lat
    ({"lon": 28.455, "lat": 119.882}, 422),                   # swapped
    ({"client_id": "not-a-uuid"}, 400),
])
def test_bad_visits_are_refused_and_change_nothing(client, db_session, world, body, status):
    response = client.post("/api/v1/party-visits", json={**_visit(), **body}, headers=f.auth(world["me"]))
    assert response.status_code == status, response.get_json()
    assert _count(db_session) == 0


def _log(db_session, world, household, when, member="mine", note="走访"):
    scope = _me(world) if member == "mine" else Scope(prefix=f.GRID_A, role="party_member",
                                                       party_member_id=world["other"])
    return visits.record_visit(db_session, scope, client_id=uuid.uuid4(), household_code=household, note=note,
                               visited_at=when, now=LATER)[0]


def test_the_list_pages_filters_by_month_and_masks_by_role(client, db_session, world):
    _log(db_session, world, "A1", datetime(2026, 3, 10, 2, tzinfo=UTC))
    _log(db_session, world, "A1", datetime(2026, 4, 2, 2, tzinfo=UTC))
    _log(db_session, world, "A2", datetime(2026, 4, 3, 2, tzinfo=UTC))
    _log(db_session, world, "A3", datetime(2026, 4, 4, 2, tzinfo=UTC), member="other")

    def get(token, **query):
        response = client.get("/api/v1/party-visits", query_string=query, headers=f.auth(token))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    page = get(worker, month="2026-04", limit=2, offset=0)
    assert page["total"] == 3 and [i["household"] for i in page["items"]] == ["A3", "A2"]
    assert get(worker, month="2026-04", limit=2, offset=2)["items"][0]["household"] == "A1"
    assert get(worker, month="2026-03")["total"] == 1 and get(worker)["total"] == 4
    assert page["items"][1]["head_name"] == "李四" and not page["masked"]
    mine = get(world["me"])
    assert {i["household"] for i in mine["items"]} == {"A1", "A2"} and mine["total"] == 3
    supervisor = get(f.token_for(db_session, "supervisor", f.STREET), month="2026-04")
    assert supervisor["total"] == 3 and supervisor["masked"]
    assert {i["head_name"] for i in supervisor["items"]} == {"张*", "李*", "王*"}
    assert all("****" in i["phone"] for i in supervisor["items"])
    assert get(f.token_for(db_session, "grid_worker", f.GRID_B))["total"] == 0
    assert get(f.token_for(db_session, "supervisor", f.OTHER_STREET))["total"] == 0
    assert get(worker, within=f.GRID_B)["total"] == 0
    audited = db_session.scalar(text("SELECT count(*) FROM audit_log WHERE object_type = 'party_visits'"))
    assert audited >= 1  # the grid worker's and party member's unmasked reads
    readers = {r[0] for r in db_session.execute(text(
        "SELECT u.role FROM audit_log a JOIN app_user u ON u.id = a.actor_id WHERE a.object_type = 'party_visits'"))}
    assert readers == {"grid_worker", "party_member"}  # each unmasked read audited; the masked ones not


def test_a_party_member_no_longer_sees_the_person_of_a_household_taken_off_their_list(client, db_session, world):
    _log(db_session, world, "A2", datetime(2026, 4, 3, 2, tzinfo=UTC))
    party.remove_contact(db_session, ADMIN, world["mine"], "A2")
    items = client.get("/api/v1/party-visits", headers=f.auth(world["me"])).get_json()["items"]
    assert [(i["household"], i["head_name"]) for i in items] == [("A2", "李*")]
    assert "13800000002" not in str(items)
    audited = db_session.scalar(text("SELECT count(*) FROM audit_log WHERE object_type = 'party_visits'"))
    assert audited == 0  # nothing was shown unmasked


def test_households_due_this_month(db_session, world):
    _log(db_session, world, "A1", datetime(2026, 3, 31, 15, 30, tzinfo=UTC))  # 23:30 on 31 March in Beijing
    _log(db_session, world, "A2", datetime(2026, 3, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 April in Beijing
    due = visits.households_due(db_session, _me(world), now=APRIL)
    assert [d["code"] for d in due] == ["A1"] and due[0]["last_visit"] == "2026-03-31"
    march = visits.households_due(db_session, _me(world), month=date(2026, 3, 1), now=APRIL)
    assert [d["code"] for d in march] == ["A2"] and march[0]["last_visit"] is None
    worker = Scope(prefix=f.GRID_A, role="grid_worker")
    assert [d["code"] for d in visits.households_due(db_session, worker, now=APRIL)] == ["A1", "A3"]
    assert [d["code"] for d in visits.households_due(db_session, worker, member_id=world["other"], now=APRIL)] == ["A3"]
    outsider = Scope(prefix=f.GRID_B, role="grid_worker")
    assert visits.households_due(db_session, outsider, grid_code=f.GRID_A, now=APRIL) == []
    assert visits.households_due(db_session, outsider, now=APRIL) == []


def _coverage(db_session, month: str) -> dict[str, float | None]:
    report = safety.safety_report(db_session, ADMIN, within=None, month=month, patrol_rules=Settings().patrol,
                                  now=APRIL)
    return {i["code"]: i["party_visit_coverage"] for i in report["items"]}


def test_visit_coverage_per_grid_on_the_safety_report(db_session, world):
    assert _coverage(db_session, "2026-04")[f.GRID_A] == 0.0   # 3 contacts, none visited
    assert _coverage(db_session, "2026-04")[f.GRID_B] is None  # no contact households
    _log(db_session, world, "A1", datetime(2026, 3, 31, 15, 30, tzinfo=UTC))  # last evening of March, Beijing
    _log(db_session, world, "A2", datetime(2026, 3, 31, 16, 30, tzinfo=UTC))  # first minutes of April, Beijing
    march, april = _coverage(db_session, "2026-03"), _coverage(db_session, "2026-04")
    assert march[f.GRID_A] == round(1 / 3, 4) and april[f.GRID_A] == round(1 / 3, 4)
    _log(db_session, world, "A1", datetime(2026, 4, 20, 2, tzinfo=UTC))
    _log(db_session, world, "A1", datetime(2026, 4, 21, 2, tzinfo=UTC))  # twice is still one household
    _log(db_session, world, "A3", datetime(2026, 4, 30, 15, 59, tzinfo=UTC), member="other")  # 23:59 30 April
    april = _coverage(db_session, "2026-04")
    assert april[f.GRID_A] == 1.0 and april[f.COMMUNITY] == 1.0 and april[f.STREET] == 1.0
    assert april[f.GRID_C] is None and april[f.OTHER_STREET] is None


def test_the_minqing_map_shows_each_contacts_last_visit(client, db_session, world):
    _log(db_session, world, "A1", datetime(2026, 3, 31, 16, 30, tzinfo=UTC))  # 1 April in Beijing
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    html = client.get(f"/maps/grid/{f.GRID_A}", headers=f.auth(worker)).get_data(as_text=True)
    assert "2026-04-01" in html and "2026-03-31" not in html
    assert json.dumps("最近走访")[1:-1] in html or "最近走访" in html
    assert json.dumps("未走访")[1:-1] in html or "未走访" in html  # A2 and A3: contacts never visited


def test_the_phone_page_lists_own_contacts_with_their_last_visit(client, db_session, world):
    _log(db_session, world, "A2", datetime(2026, 3, 10, 2, tzinfo=UTC), note="老人独居")
    _log(db_session, world, "A2", datetime(2026, 3, 20, 2, tzinfo=UTC), note="门锁坏了<待修>")
    html = client.get("/party/visits", headers=f.auth(world["me"])).get_data(as_text=True)
    assert 'data-code="A1"' in html and 'data-code="A2"' in html and 'data-code="A3"' not in html
    assert "张三" in html and "2026-03-20" in html
    assert "门锁坏了&lt;待修&gt;" in html and "老人独居" not in html  # the last visit's note, as text
