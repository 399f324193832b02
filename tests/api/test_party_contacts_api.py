"""Party contact lists over the API: capacities, pinned pairs, uncovered households,
the member's own households and masking by role."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select

from gridmap.auth.models import AuditLog
from gridmap.party.models import PartyContact, PartyMember
from tests import factories as f


def member(db_session, name: str, lon: float, lat: float, grid, phone: str = "13700000000") -> PartyMember:
    row = PartyMember(name=name, phone=phone, branch="城北社区第一党支部", geom=from_shape(Point(lon, lat), srid=4326),
                      grid_id=grid.id)
    db_session.add(row)
    db_session.flush()
    return row


@pytest.fixture
def world(db_session):
    data = f.lishui(db_session)
    grid = data["grids"][f.GRID_A]
    # 25 households in a row along lon 119.881..119.889; members at both ends.
    for i in range(25):
        f.household(db_session, f"A-{i:02d}", 119.8810 + i * 0.00033, 28.455, grid,
                    head_name=f"住户{i:02d}", phone=f"1380000{i:04d}")
    data["west"] = member(db_session, "王建国", 119.8810, 28.4551, grid)
    data["east"] = member(db_session, "李红梅", 119.8890, 28.4551, grid)
    f.household(db_session, "B-01", 119.895, 28.455, data["grids"][f.GRID_B], head_name="外网格", phone="13900000000")
    db_session.commit()
    return data


def _run(client, token, code=f.GRID_A, **body):
    return client.post(f"/api/v1/grids/{code}/party-contacts", json=body or {"max_per_member": 10},
                       headers=f.auth(token))


def test_each_member_at_most_max_and_the_rest_listed_uncovered(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    r = _run(client, admin, max_per_member=10)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    lists = {m["name"]: m["households"] for m in body["members"]}
    assert set(lists) == {"王建国", "李红梅"}
    assert all(len(codes) == 10 for codes in lists.values())
    # The nearest ten to each end are theirs; the five in the middle cannot be covered.
    assert lists["王建国"] == [f"A-{i:02d}" for i in range(10)]
    assert lists["李红梅"] == [f"A-{i:02d}" for i in range(15, 25)]
    assert body["uncovered"] == [f"A-{i:02d}" for i in range(10, 15)]
    assert db_session.scalar(select(func.count()).select_from(PartyContact)) == 20


def test_enough_places_cover_every_household(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    body = _run(client, admin, max_per_member=13).get_json()
    assert body["uncovered"] == []
    assert sum(len(m["households"]) for m in body["members"]) == 25


def test_pinned_pairs_survive_a_rerun_and_count_against_capacity(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    _run(client, admin, max_per_member=10)
    west = world["west"].id
    # Pin a far household to the western member by hand.
    r = client.put(f"/api/v1/party-members/{west}/households/A-24", json={"pinned": True}, headers=f.auth(admin))
    assert r.status_code == 200, r.get_json()
    body = _run(client, admin, max_per_member=10).get_json()
    lists = {m["id"]: m["households"] for m in body["members"]}
    assert "A-24" in lists[west] and len(lists[west]) == 10
    assert "A-24" not in lists[world["east"].id]
    pinned = db_session.scalar(select(PartyContact.pinned).join(PartyMember)
                               .where(PartyMember.id == west, PartyContact.pinned))
    assert pinned is True
    # Removing the pin by hand frees the household again.
    assert client.delete(f"/api/v1/party-members/{west}/households/A-24", headers=f.auth(admin)).status_code == 200
    again = _run(client, admin, max_per_member=10).get_json()
    assert "A-24" in {m["id"]: m["households"] for m in again["members"]}[world["east"].id]


def test_grid_without_members_lists_every_household_uncovered(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    body = _run(client, admin, code=f.GRID_B).get_json()
    assert body == {"members": [], "uncovered": ["B-01"], "max_per_member": 10}


def test_bad_input_and_scope(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    assert _run(client, admin, max_per_member=0).status_code == 400
    assert client.post(f"/api/v1/grids/{f.GRID_A}/party-contacts", data="x", headers=f.auth(admin)).status_code == 400
    assert _run(client, admin, code="331102001001999").status_code == 404
    other = f.token_for(db_session, "grid_worker", f.GRID_B)
    assert _run(client, other).status_code == 404
    planner = f.token_for(db_session, "planner", f.DISTRICT)
    assert _run(client, planner).status_code == 403
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    assert _run(client, worker).status_code == 200


def test_party_member_sees_only_own_households_unmasked_and_audited(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    _run(client, admin)
    west, east = world["west"].id, world["east"].id
    token = f.token_for(db_session, "party_member", f.GRID_A, username="pm-west", party_member_id=west)
    r = client.get(f"/api/v1/party-members/{west}/households", headers=f.auth(token))
    body = r.get_json()
    assert r.status_code == 200 and body["total"] == 10 and body["masked"] is False
    assert {i["code"] for i in body["items"]} == {f"A-{i:02d}" for i in range(10)}
    assert "住户00" in {i["head_name"] for i in body["items"]}
    assert client.get(f"/api/v1/party-members/{east}/households", headers=f.auth(token)).status_code == 404
    # The grid's household list (existing rules) shows them only their own households too.
    grid = client.get(f"/api/v1/grids/{f.GRID_A}/households", headers=f.auth(token)).get_json()
    assert grid["total"] == 10
    audits = db_session.scalars(select(AuditLog).where(AuditLog.object_type == "party_member_households")).all()
    assert len(audits) == 1 and len(audits[0].detail["households"]) == 10


def test_supervisor_sees_member_households_masked(client, db_session, world):
    admin = f.token_for(db_session, "admin")
    _run(client, admin)
    sup = f.token_for(db_session, "supervisor", f.STREET)
    body = client.get(f"/api/v1/party-members/{world['west'].id}/households", headers=f.auth(sup)).get_json()
    assert body["masked"] is True and body["items"][0]["head_name"].endswith("*")
    assert body["member"]["name"] == "王建国"
    far = f.token_for(db_session, "supervisor", f.OTHER_STREET)
    assert client.get(f"/api/v1/party-members/{world['west'].id}/households",
                      headers=f.auth(far)).status_code == 404


def test_add_and_edit_party_members_by_hand(client, db_session, world):
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    r = client.post("/api/v1/party-members", json={"name": "赵志刚", "phone": "13600001111", "branch": "一支部",
                                                   "household_code": "A-12"}, headers=f.auth(worker))
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["grid"] == f.GRID_A and created["household"] == "A-12"
    r = client.patch(f"/api/v1/party-members/{created['id']}", json={"branch": "二支部", "lon": 119.885,
                                                                    "lat": 28.456}, headers=f.auth(worker))
    assert r.status_code == 200 and r.get_json()["branch"] == "二支部" and r.get_json()["grid"] == f.GRID_A
    # A point in another grid is outside a grid worker's scope; a GCJ-02 point is converted.
    r = client.post("/api/v1/party-members", json={"name": "钱", "lon": 119.935, "lat": 28.455},
                    headers=f.auth(worker))
    assert r.status_code == 422
    admin = f.token_for(db_session, "admin")
    r = client.post("/api/v1/party-members", json={"name": "孙", "lon": 119.8897, "lat": 28.4527, "crs": "gcj02"},
                    headers=f.auth(admin))
    assert r.status_code == 201 and r.get_json()["grid"] in (f.GRID_A, f.GRID_B)
    assert client.post("/api/v1/party-members", json={"name": "无位置"}, headers=f.auth(admin)).status_code == 422
    assert client.post("/api/v1/party-members", json={"name": "缺纬度", "lon": 119.88},
                       headers=f.auth(admin)).status_code == 400
    listed = client.get(f"/api/v1/grids/{f.GRID_A}/party-members", headers=f.auth(worker)).get_json()
    assert "赵志刚" in {m["name"] for m in listed["items"]}


def test_grid_staff_for_the_handbook(client, db_session, world):
    sup = f.token_for(db_session, "supervisor", f.DISTRICT)
    staff = {"items": [{"role": "police", "name": "陈警官", "phone": "0578-2100110", "organisation": "城北派出所"},
                       {"role": "grid_leader", "name": "周书记", "phone": "13500000001"}]}
    r = client.put(f"/api/v1/grids/{f.GRID_A}/staff", json=staff, headers=f.auth(sup))
    assert r.status_code == 200, r.get_json()
    assert [p["role_name"] for p in r.get_json()["items"]] == ["网格长", "网格民警"]
    bad = client.put(f"/api/v1/grids/{f.GRID_A}/staff", json={"items": [{"role": "boss", "name": "x"}]},
                     headers=f.auth(sup))
    assert bad.status_code == 400
