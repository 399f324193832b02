"""责任交接: a change of a grid's workers freezes the grid (households by category, open hazards,
visits behind plan, contact lists) with who handed over to whom; listed and read per grid,
masked per role (unmasked reads audited); printed as a PDF both sign; refused outside the scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gridmap.areas.models import Grid
from gridmap.auth.models import AuditLog
from gridmap.auth.scope import Scope
from gridmap.handover.models import GridHandover
from gridmap.hazards import service as hazards
from gridmap.party import service as party
from tests import factories as f

NAME, PHONE = "欧阳锋", "13912345678"
OLD = [{"role": "grid_worker", "name": "王网格", "phone": "13800000001"}, {"role": "police", "name": "李民警"}]
NEW = [{"role": "grid_worker", "name": "赵接班", "phone": "13800000002"}, {"role": "police", "name": "李民警"}]


@pytest.fixture
def world(db_session, monkeypatch):
    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    grids = f.lishui(db_session)["grids"]
    f.household(db_session, "S1", 119.882, 28.455, grids[f.GRID_A], head_name=NAME, phone=PHONE, tags=["孤寡老人"])
    f.household(db_session, "S2", 119.884, 28.455, grids[f.GRID_A], head_name="黄药师", phone="13900000002",
                tags=["社区矫正"])
    f.household(db_session, "S3", 119.885, 28.456, grids[f.GRID_A], head_name="郭靖", tags=["出租房", "孤寡老人"])
    db_session.commit()
    everything = Scope.everything()
    member = party.create_member(db_session, everything, {"name": "党员甲", "phone": "13700000007",
                                                          "household_code": "S3"})["id"]
    party.set_contact(db_session, everything, member, "S1")
    tokens = {role: f.auth(f.token_for(db_session, role, scope)) for role, scope in (
        ("admin", ""), ("supervisor", f.STREET), ("grid_worker", f.GRID_A), ("planner", f.STREET))}
    tokens["party_member"] = f.auth(f.token_for(db_session, "party_member", f.GRID_A, party_member_id=member))
    tokens["other"] = f.auth(f.token_for(db_session, "supervisor", "331102002", username="sv-other"))
    tokens["worker_b"] = f.auth(f.token_for(db_session, "grid_worker", f.GRID_B, username="gw-b"))
    hazards.report(db_session, everything, category="fire", severity="normal", description="楼道堆放杂物",
                   lon=119.883, lat=28.455, crs=None, now=datetime(2026, 3, 2, 1, tzinfo=UTC))
    return tokens


def _staff(client, world, items, who="supervisor"):
    answer = client.put(f"/api/v1/grids/{f.GRID_A}/staff", json={"items": items}, headers=world[who])
    assert answer.status_code == 200, answer.get_json()


def _handovers(client, world, who="admin"):
    return client.get(f"/api/v1/grids/{f.GRID_A}/handovers", headers=world[who]).get_json()


def test_a_change_of_grid_worker_takes_a_handover(client, db_session, world):
    _staff(client, world, OLD)  # the first worker: from nobody to 王网格
    _staff(client, world, NEW)
    listed = _handovers(client, world)
    assert listed["total"] == 2
    newest = listed["items"][0]
    assert (newest["outgoing"], newest["incoming"], newest["reason"]) == ("王网格", "赵接班", "staff_change")
    assert newest["created_by"] != "" and listed["items"][1]["outgoing"] == ""
    # Only the police officer's phone changes: no handover.
    _staff(client, world, [NEW[0], {"role": "police", "name": "李民警", "phone": "110"}])
    assert _handovers(client, world)["total"] == 2
    # A phone of the grid worker changes: that is a change of who to call, a new handover.
    _staff(client, world, [{**NEW[0], "phone": "13800000003"}, NEW[1]])
    assert _handovers(client, world)["total"] == 3


def test_the_snapshot_as_an_admin_sees_it(client, world):
    _staff(client, world, OLD)
    _staff(client, world, NEW)
    newest = _handovers(client, world)["items"][0]["id"]
    body = client.get(f"/api/v1/grids/{f.GRID_A}/handovers/{newest}", headers=world["admin"]).get_json()
    snap = body["snapshot"]
    assert snap["masked"] is False and snap["grid"]["code"] == f.GRID_A
    assert snap["households"]["total"] == 3 and snap["households"]["by_tag"] == {"孤寡老人": 2, "出租房": 1, "社区矫正": 1}
    assert [h["description"] for h in snap["open_hazards"]] == ["楼道堆放杂物"]
    assert snap["open_hazards"][0]["overdue"] is True
    assert {h["code"]: h["tags"] for h in snap["visits_due"]} == {"S1": ["孤寡老人"], "S2": ["社区矫正"],
                                                                 "S3": ["孤寡老人"]}
    assert [(c["member"], c["code"], c["head_name"]) for c in snap["contacts_due"]] == [("党员甲", "S1", NAME)]
    assert snap["contacts"][0]["name"] == "党员甲" and snap["contacts"][0]["households"][0]["phone"] == PHONE
    assert [s["name"] for s in snap["staff_before"]] == ["王网格", "李民警"]
    assert [s["name"] for s in snap["staff_after"]] == ["赵接班", "李民警"]


def test_the_snapshot_is_frozen(client, db_session, world):
    _staff(client, world, NEW)
    first = _handovers(client, world)["items"][0]["id"]
    grid_a = db_session.scalars(select(Grid).where(Grid.code == f.GRID_A)).one()
    f.household(db_session, "S4", 119.886, 28.456, grid_a, tags=["孤寡老人"])
    body = client.get(f"/api/v1/grids/{f.GRID_A}/handovers/{first}", headers=world["admin"]).get_json()
    assert body["snapshot"]["households"]["total"] == 3


def _audits(db_session) -> int:
    return len(db_session.scalars(select(AuditLog).where(AuditLog.object_type == "grid_handover",
                                                         AuditLog.action == "read_unmasked")).all())


def test_masked_for_a_supervisor_unless_asked_and_audited(client, db_session, world):
    _staff(client, world, NEW)
    first = _handovers(client, world)["items"][0]["id"]
    url = f"/api/v1/grids/{f.GRID_A}/handovers/{first}"
    text = client.get(url, headers=world["supervisor"]).get_data(as_text=True)
    body = client.get(url, headers=world["supervisor"]).get_json()["snapshot"]
    assert NAME not in text and PHONE not in text and "社区矫正" not in text and "黄药师" not in text
    assert body["masked"] is True and "欧**" in text
    assert body["households"]["by_tag"]["重点人员"] == 1
    assert {h["code"] for h in body["visits_due"]} == {"S1", "S3"}  # S2 is due only for a sensitive tag
    assert _audits(db_session) == 0
    unmasked = client.get(url + "?unmask=1", headers=world["supervisor"]).get_data(as_text=True)
    assert NAME in unmasked and _audits(db_session) == 1
    detail = db_session.scalars(select(AuditLog.detail).where(AuditLog.object_type == "grid_handover")).one()
    assert {"S1", "S2", "S3"} <= set(detail["households"]) and detail["count"] == len(detail["households"])
    assert client.get(url, headers=world["grid_worker"]).get_json()["snapshot"]["masked"] is False
    assert _audits(db_session) == 2


def test_taken_on_request_and_refused_outside_the_scope(client, db_session, world):
    made = client.post(f"/api/v1/grids/{f.GRID_A}/handovers", headers=world["supervisor"])
    assert made.status_code == 201 and made.get_json()["reason"] == "manual"
    hid = made.get_json()["id"]
    assert client.post(f"/api/v1/grids/{f.GRID_A}/handovers", headers=world["other"]).status_code == 404
    assert client.post(f"/api/v1/grids/{f.GRID_A}/handovers", headers=world["grid_worker"]).status_code == 403
    for who, status in (("other", 404), ("worker_b", 404), ("planner", 403), ("party_member", 403)):
        assert client.get(f"/api/v1/grids/{f.GRID_A}/handovers", headers=world[who]).status_code == status, who
        assert client.get(f"/api/v1/grids/{f.GRID_A}/handovers/{hid}", headers=world[who]).status_code == status, who
    # A handover is read through its own grid only.
    assert client.get(f"/api/v1/grids/{f.GRID_B}/handovers/{hid}", headers=world["admin"]).status_code == 404
    assert client.get(f"/api/v1/grids/{f.GRID_A}/handovers/999999", headers=world["admin"]).status_code == 404
    assert _handovers(client, world, "grid_worker")["total"] == 1
    # A grid in the scope with no handover yet lists none; a code that is no grid is a 404.
    assert client.get(f"/api/v1/grids/{f.GRID_B}/handovers", headers=world["admin"]).get_json()["total"] == 0
    missing = client.get(f"/api/v1/grids/{f.GRID_A[:-3]}999/handovers", headers=world["supervisor"])
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "grid_not_found"
    assert db_session.scalars(select(GridHandover)).all()[0].grid_code == f.GRID_A


def test_the_print_page_lists_handovers_and_takes_one(client, db_session, world):
    import re

    from gridmap.auth.passwords import hash_password
    from gridmap.auth.service import create_user

    user = create_user(db_session, "handover-page", "pass-word-1", "supervisor", f.STREET, "督导")
    user.password_hash = hash_password("pass-word-1")  # the fixture skips hashing for token users
    db_session.commit()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "handover-page", "password": "pass-word-1", "csrf_token": token})
    html = client.get(f"/maps/grid/{f.GRID_A}/print").get_data(as_text=True)
    assert 'id="handovers"' in html and "暂无交接记录" in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/maps/grid/{f.GRID_A}/handovers", data={}).status_code in (400, 403)  # no CSRF token
    made = client.post(f"/maps/grid/{f.GRID_A}/handovers", data={"csrf_token": csrf})
    assert made.status_code == 303
    html = client.get(f"/maps/grid/{f.GRID_A}/print").get_data(as_text=True)
    hid = _handovers(client, world)["items"][0]["id"]
    assert f'href="/maps/grid/{f.GRID_A}/handovers/{hid}.pdf"' in html
    # The staff form changes the worker: a handover of its own.
    client.post(f"/maps/grid/{f.GRID_A}/staff", data={"csrf_token": csrf, "role": ["grid_worker"],
                                                      "name": ["赵接班"], "phone": ["13800000002"]})
    assert _handovers(client, world)["items"][0]["incoming"] == "赵接班"


def test_a_long_hazard_list_is_cut_and_says_so(app, client, db_session, world, monkeypatch):
    from flask import render_template

    monkeypatch.setattr("gridmap.handover.snapshot.HAZARDS_MAX", 1)
    hazards.report(db_session, Scope.everything(), category="fire", severity="normal", description="电动车楼道充电",
                   lon=119.884, lat=28.455, crs=None, now=datetime(2026, 3, 3, 1, tzinfo=UTC))
    made = client.post(f"/api/v1/grids/{f.GRID_A}/handovers", headers=world["supervisor"]).get_json()
    snap = client.get(f"/api/v1/grids/{f.GRID_A}/handovers/{made['id']}", headers=world["admin"]).get_json()["snapshot"]
    assert snap["open_hazards_total"] == 2
    assert [h["description"] for h in snap["open_hazards"]] == ["楼道堆放杂物"]  # the oldest first
    with app.test_request_context():
        html = render_template("handover.html", title="t", handover=made, snap=snap, user=None, staff_roles={})
    assert "（2 件，列出最早的 1 件）" in html
