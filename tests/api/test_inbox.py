"""GET /api/v1/inbox and /inbox/count: each section per role, its edges (a deadline exactly 24 hours
away, an item overdue by one second), scope (nothing of another grid or street), 督办 notes only
about the caller's own items, a party member only their contacts, and the count always the list's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.clock import as_local
from gridmap.hazards import service as hazards
from tests import factories as f

NOW = datetime.now(UTC).replace(microsecond=0)
IN = {f.GRID_A: (119.884, 28.455), f.GRID_B: (119.894, 28.455), f.GRID_C: (119.93, 28.455)}


@pytest.fixture
def world(db_session, monkeypatch):
    monkeypatch.setattr("gridmap.clock.now", lambda: NOW)
    data = f.lishui(db_session)
    users = {name: f.token_for(db_session, role, scope, username=name, display_name=display)
             for name, role, scope, display in (
                 ("worker-a", "grid_worker", f.GRID_A, "网格员甲"), ("worker-a2", "grid_worker", f.GRID_A, "网格员乙"),
                 ("worker-b", "grid_worker", f.GRID_B, "网格员丙"), ("street", "supervisor", f.STREET, "街道督导"),
                 ("other-street", "supervisor", f.OTHER_STREET, "岩泉督导"), ("planner", "planner", f.DISTRICT, "规划"),
                 ("admin", "admin", "", "管理员"))}
    db_session.commit()
    return {"grids": data["grids"], "tokens": users}


def _user_id(db_session, username):
    return db_session.scalar(text("SELECT id FROM app_user WHERE username = :u"), {"u": username})


def _hazard(db_session, grid, *, status="assigned", assignee=None, accept_by=None, resolve_by, description="楼道堵塞"):
    lon, lat = IN[grid]
    hazard_id = hazards.report(db_session, Scope.everything(), category="fire", severity="normal",
                               description=description, lon=lon, lat=lat, crs=None)["id"]
    db_session.execute(text("UPDATE hazard SET status = :status, assignee_id = :assignee, accept_by = :accept,"
                            " resolve_by = :resolve WHERE id = :id"),
                       {"status": status, "assignee": _user_id(db_session, assignee) if assignee else None,
                        "accept": accept_by or resolve_by, "resolve": resolve_by, "id": hazard_id})
    db_session.commit()
    return hazard_id


def _inbox(client, token, **query):
    answer = client.get("/api/v1/inbox", query_string=query, headers=f.auth(token))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    count = client.get("/api/v1/inbox/count", headers=f.auth(token)).get_json()
    if not query:  # the badge's count is the list's, section by section
        assert count == {"total": body["total"], "sections": {s["kind"]: s["total"] for s in body["sections"]}}
    return body


def _ids(body, kind, key="hazard_id"):
    section = next(s for s in body["sections"] if s["kind"] == kind)
    assert section["total"] == len(section["items"])
    return {item[key] for item in section["items"]}


def test_deadline_sections_edges_and_scope(client, db_session, world):
    exact = _hazard(db_session, f.GRID_A, assignee="worker-a", resolve_by=NOW + timedelta(hours=24))
    later = _hazard(db_session, f.GRID_A, assignee="worker-a", resolve_by=NOW + timedelta(hours=24, seconds=1))
    late = _hazard(db_session, f.GRID_A, assignee="worker-a", status="in_progress", resolve_by=NOW - timedelta(seconds=1))
    colleague = _hazard(db_session, f.GRID_A, assignee="worker-a2", resolve_by=NOW + timedelta(hours=1))
    unaccepted = _hazard(db_session, f.GRID_A, status="reported", accept_by=NOW - timedelta(seconds=1),
                         resolve_by=NOW + timedelta(days=5))
    in_b = _hazard(db_session, f.GRID_B, status="reported", resolve_by=NOW - timedelta(hours=3))
    in_c = _hazard(db_session, f.GRID_C, status="reported", resolve_by=NOW - timedelta(hours=3))
    _hazard(db_session, f.GRID_A, status="closed", assignee="worker-a", resolve_by=NOW - timedelta(days=3))

    mine = _inbox(client, world["tokens"]["worker-a"])
    assert _ids(mine, "overdue") == {late, unaccepted}       # by one second; in their grid; not B's
    assert _ids(mine, "due_soon") == {exact}                  # exactly 24 h away counts, a second more not
    assert _ids(mine, "assigned") == {later}
    item = next(s for s in mine["sections"] if s["kind"] == "due_soon")["items"][0]
    assert item["link"] == f"/hazards/{exact}" and item["title"].startswith("24 小时内到期")
    assert item["summary"] == "楼道堵塞" and item["at"] == item["deadline"] == as_local(NOW + timedelta(hours=24)).isoformat()
    assert _ids(_inbox(client, world["tokens"]["worker-a2"]), "due_soon") == {colleague}
    assert _ids(_inbox(client, world["tokens"]["worker-b"]), "overdue") == {in_b}
    assert _ids(_inbox(client, world["tokens"]["street"]), "overdue") == {late, unaccepted, in_b}
    assert _ids(_inbox(client, world["tokens"]["other-street"]), "overdue") == {in_c}
    assert _ids(_inbox(client, world["tokens"]["admin"]), "overdue") == {late, unaccepted, in_b, in_c}


def _supervise(client, token, hazard_id, note):
    answer = client.post(f"/api/v1/hazards/{hazard_id}/actions", json={"action": "supervise", "note": note},
                         headers=f.auth(token))
    assert answer.status_code == 200, answer.get_json()


def test_supervise_notes_reach_only_the_assignee(client, db_session, world):
    far = NOW + timedelta(days=5)
    mine = _hazard(db_session, f.GRID_A, assignee="worker-a", resolve_by=far)
    theirs = _hazard(db_session, f.GRID_A, assignee="worker-a2", resolve_by=far)
    nobodys = _hazard(db_session, f.GRID_A, status="accepted", resolve_by=far)
    street = world["tokens"]["street"]
    _supervise(client, street, mine, "请今天处理完")
    _supervise(client, street, theirs, "别人的督办")
    _supervise(client, street, nobodys, "无人负责")
    body = _inbox(client, world["tokens"]["worker-a"])
    notes = next(s for s in body["sections"] if s["kind"] == "supervised")["items"]
    assert [(n["hazard_id"], n["note"], n["by"]) for n in notes] == [(mine, "请今天处理完", "街道督导")]
    assert notes[0]["title"].startswith("街道督导 督办") and notes[0]["link"] == f"/hazards/{mine}"
    assert _ids(_inbox(client, world["tokens"]["worker-a2"]), "supervised") == {theirs}
    # reassigned to a colleague: the note no longer waits for worker-a
    db_session.execute(text("UPDATE hazard SET assignee_id = :u WHERE id = :id"),
                       {"u": _user_id(db_session, "worker-a2"), "id": mine})
    db_session.commit()
    assert _ids(_inbox(client, world["tokens"]["worker-a"]), "supervised") == set()


def test_approvals_wait_for_supervisors_of_the_area(client, db_session, world):
    f.household(db_session, "A1", 119.882, 28.455, world["grids"][f.GRID_A], tags=["独居老人"], head_name="张三")
    db_session.commit()
    worker = f.auth(world["tokens"]["worker-a"])
    answer = client.patch("/api/v1/households/A1", json={"version": 1, "risk_level": "high"}, headers=worker)
    assert answer.get_json()["pending"] == ["risk_level"]
    body = _inbox(client, world["tokens"]["street"])
    assert _ids(body, "approvals", "household") == {"A1"}
    item = next(s for s in body["sections"] if s["kind"] == "approvals")["items"][0]
    assert item["link"] == f"/households/approvals?within={f.GRID_A}"
    assert "high" not in str(item) and "张三" not in str(item)   # what was proposed is not in the inbox
    assert _ids(_inbox(client, world["tokens"]["admin"]), "approvals", "household") == {"A1"}
    assert _ids(_inbox(client, world["tokens"]["other-street"]), "approvals", "household") == set()
    kinds = {s["kind"] for s in _inbox(client, world["tokens"]["worker-a"])["sections"]}
    assert "approvals" not in kinds


def _checkin(client, token, household):
    body = {"id": str(uuid.uuid4()), "lon": 119.8821, "lat": 28.4551, "accuracy_m": 10,
            "recorded_at": datetime.now(UTC).isoformat(), "household_code": household}
    assert client.post("/api/v1/checkins", json=body, headers=f.auth(token)).status_code == 201


def test_a_grid_workers_wubifang_households_due_this_month(client, db_session, world):
    grids = world["grids"]
    f.household(db_session, "A1", 119.882, 28.455, grids[f.GRID_A], tags=["孤寡老人"], head_name="张三")
    f.household(db_session, "A2", 119.8822, 28.455, grids[f.GRID_A], tags=["孤寡老人"])
    f.household(db_session, "A3", 119.8824, 28.455, grids[f.GRID_A], tags=["出租户"])
    f.household(db_session, "A4", 119.8826, 28.455, grids[f.GRID_A], tags=["社区矫正"])
    f.household(db_session, "B1", 119.892, 28.455, grids[f.GRID_B], tags=["孤寡老人"])
    db_session.commit()
    _checkin(client, world["tokens"]["worker-a"], "A2")
    body = _inbox(client, world["tokens"]["worker-a"])
    assert _ids(body, "visits_due", "household") == {"A1", "A4"}
    items = {i["household"]: i for s in body["sections"] if s["kind"] == "visits_due" for i in s["items"]}
    assert items["A4"]["visit_tags"] == ["社区矫正"] and "张三" not in str(items)
    assert items["A1"]["link"] == "/patrol" and items["A1"]["summary"] == "本月尚未走访，此前没有走访记录"
    audited = db_session.execute(text("SELECT detail FROM audit_log WHERE object_type = 'inbox_visits'")).scalars().all()
    assert audited and audited[-1]["households"] == ["A4"]
    assert "visits_due" not in {s["kind"] for s in _inbox(client, world["tokens"]["street"])["sections"]}
    assert _ids(_inbox(client, world["tokens"]["worker-b"]), "visits_due", "household") == {"B1"}


def test_a_party_member_sees_only_their_contacts_not_visited(client, db_session, world):
    from gridmap.party import service as party, visits

    grids, everything = world["grids"], Scope.everything()
    for code in ("A1", "A2"):
        f.household(db_session, code, 119.882, 28.455, grids[f.GRID_A])
    db_session.commit()
    mine = party.create_member(db_session, everything, {"name": "党员甲", "household_code": "A1"})["id"]
    other = party.create_member(db_session, everything, {"name": "党员乙", "household_code": "A2"})["id"]
    party.set_contact(db_session, everything, mine, "A1")
    party.set_contact(db_session, everything, other, "A2")
    token = f.token_for(db_session, "party_member", f.GRID_A, username="member", party_member_id=mine)
    db_session.commit()
    body = _inbox(client, token)
    assert [s["kind"] for s in body["sections"]] == ["visits_due"]
    assert _ids(body, "visits_due", "household") == {"A1"}
    assert body["sections"][0]["items"][0]["link"] == "/party/visits"
    visits.record_visit(db_session, Scope(prefix=f.GRID_A, role="party_member", party_member_id=mine),
                        client_id=uuid.uuid4(), household_code="A1", note="走访", visited_at=NOW)
    assert _inbox(client, token)["total"] == 0


def test_what_is_behind_patrol_plan(client, db_session, world):
    from gridmap.patrol_plan import service as plans

    plans.set_plan(db_session, Scope.everything(), {"subject": "grid", "code": f.GRID_A, "place_id": None,
                                                    "period": "day", "min_count": 1})
    worker = _inbox(client, world["tokens"]["worker-a"])
    assert _ids(worker, "behind", "grid") == {f.GRID_A}
    item = next(s for s in worker["sections"] if s["kind"] == "behind")["items"][0]
    assert item["link"] == "/maps/patrol" and "要求 1 天，已完成 0 天" in item["summary"]
    assert _ids(_inbox(client, world["tokens"]["street"]), "behind", "grid") == {f.GRID_A}
    assert next(s for s in _inbox(client, world["tokens"]["street"])["sections"]
                if s["kind"] == "behind")["items"][0]["link"] == "/patrol-plans"
    assert _ids(_inbox(client, world["tokens"]["worker-b"]), "behind", "grid") == set()
    assert _ids(_inbox(client, world["tokens"]["other-street"]), "behind", "grid") == set()


def test_a_planner_has_an_empty_inbox_and_one_section_pages(client, db_session, world):
    assert _inbox(client, world["tokens"]["planner"]) == {"total": 0, "sections": []}
    for n in range(3):
        _hazard(db_session, f.GRID_A, status="reported", resolve_by=NOW - timedelta(hours=n + 1))
    page = _inbox(client, world["tokens"]["street"], section="overdue", limit=2, offset=2)
    assert [s["kind"] for s in page["sections"]] == ["overdue"]
    assert page["sections"][0]["total"] == 3 and len(page["sections"][0]["items"]) == 1
    refused = client.get("/api/v1/inbox?section=everything", headers=f.auth(world["tokens"]["street"]))
    assert refused.status_code == 400


def test_the_inbox_page_and_the_badge(client, db_session, world):
    token = world["tokens"]["worker-a"]
    hazard = _hazard(db_session, f.GRID_A, assignee="worker-a", resolve_by=NOW + timedelta(hours=2),
                     description="<b>楼道</b>堵塞")
    html = client.get("/inbox", headers=f.auth(token)).get_data(as_text=True)
    assert f'href="/hazards/{hazard}"' in html and "24 小时内到期" in html
    assert "&lt;b&gt;楼道&lt;/b&gt;堵塞" in html and "<b>楼道</b>" not in html
    empty = client.get("/inbox", headers=f.auth(world["tokens"]["planner"])).get_data(as_text=True)
    assert "暂时没有待办" in empty and "没有需要处理的待办" in empty
    other = client.get("/hazards", headers=f.auth(token)).get_data(as_text=True)
    assert 'id="inbox-badge"' in other and 'data-poll-s="30"' in other and "js/inbox-badge.js" in other
    assert 'id="inbox-badge"' not in client.get("/login").get_data(as_text=True)


def test_the_behind_section_pages_like_every_section(client, db_session, world, monkeypatch):
    from gridmap.patrol_plan import service as plans

    monkeypatch.setattr(plans, "INBOX_LIMIT", 1)  # a page past the patrol plans' own cap is still a page

    for grid in (f.GRID_A, f.GRID_B):
        plans.set_plan(db_session, Scope.everything(), {"subject": "grid", "code": grid, "place_id": None,
                                                        "period": "day", "min_count": 1})
    pages = [next(s for s in _inbox(client, world["tokens"]["street"], section="behind", limit=1, offset=offset)
                  ["sections"] if s["kind"] == "behind") for offset in (0, 1, 2)]
    assert [p["total"] for p in pages[:2]] == [2, 2]
    assert [len(p["items"]) for p in pages] == [1, 1, 0]
    assert pages[0]["items"][0]["title"] != pages[1]["items"][0]["title"]
