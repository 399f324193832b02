"""Hazards through the API: reporting into grids, the closed loop, refusals, scope, lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridmap.auth.scope import Scope
from gridmap.geo.crs import wgs84_to_gcj02
from gridmap.hazards import service
from gridmap.hazards.workflow import ACTIONS, LOOP_ACTIONS, RULES
from tests import factories as f

IN_A = (119.885, 28.455)
PATH = [("reported", "accept", {}), ("accepted", "assign", {"assignee": "worker-a"}), ("assigned", "start", {}),
        ("in_progress", "feedback", {}), ("feedback", "verify", {}), ("verified", "close", {})]


@pytest.fixture
def world(db_session, monkeypatch):
    # These users only ever use bearer tokens: skip the deliberately slow password hash.
    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    data = f.lishui(db_session)
    tokens = {
        "admin": f.token_for(db_session, "admin"),
        "worker": f.token_for(db_session, "grid_worker", f.GRID_A, username="worker-a"),
        "worker_b": f.token_for(db_session, "grid_worker", f.GRID_B, username="worker-b"),
        "community": f.token_for(db_session, "supervisor", f.COMMUNITY, username="sup-community"),
        "street": f.token_for(db_session, "supervisor", f.STREET, username="sup-street"),
        "district": f.token_for(db_session, "supervisor", f.DISTRICT, username="sup-district"),
        "other_street": f.token_for(db_session, "supervisor", f.OTHER_STREET, username="sup-other"),
        "planner": f.token_for(db_session, "planner", f.DISTRICT),
    }
    data["tokens"] = tokens
    return data


def _report(client, token, lon=IN_A[0], lat=IN_A[1], **extra):
    body = {"category": "fire", "severity": "normal", "description": "楼道堆放杂物堵塞消防通道", "lon": lon, "lat": lat}
    body.update(extra)
    return client.post("/api/v1/hazards", json=body, headers=f.auth(token))


def _act(client, token, hazard_id, action, **extra):
    return client.post(f"/api/v1/hazards/{hazard_id}/actions", json={"action": action, **extra},
                       headers=f.auth(token))


def _drive(client, world, hazard_id, status):
    """Take a hazard along the main path to ``status`` (as the district supervisor / assignee)."""
    if status == "rejected":
        assert _act(client, world["tokens"]["community"], hazard_id, "reject", note="非本辖区问题").status_code == 200
        return
    for current, action, extra in PATH:
        if current == status:
            return
        token = world["tokens"]["worker"] if action in ("start", "feedback") else world["tokens"]["community"]
        response = _act(client, token, hazard_id, action, note="处理中", **extra)
        assert response.status_code == 200, response.get_json()


def test_report_lands_in_its_grid_with_deadlines_and_a_code(client, world):
    response = _report(client, world["tokens"]["worker"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "reported" and body["grid"]["code"] == f.GRID_A
    assert body["code"].startswith("HZ-") and body["code"].endswith(f"-{body['id']:06d}")
    assert set(body["deadlines"]) == {"accept_by", "resolve_by"} and body["calendar"] in ("official", "fallback")
    assert body["possible_duplicates"] == []
    detail = client.get(f"/api/v1/hazards/{body['id']}", headers=f.auth(world["tokens"]["community"])).get_json()
    assert detail["events"][0]["action"] == "report" and detail["events"][0]["to_status"] == "reported"
    assert detail["category_name"] == "消防" and detail["level"] == "grid"
    assert detail["allowed_actions"] == ["accept", "reject", "escalate", "supervise"]


def test_gcj02_report_is_stored_in_wgs84_and_lands_by_its_true_position(client, world):
    lons, lats = wgs84_to_gcj02([119.8952], [28.4550])
    body = _report(client, world["tokens"]["community"], lon=float(lons[0]), lat=float(lats[0]), crs="gcj02").get_json()
    assert body["grid"]["code"] == f.GRID_B
    assert abs(body["lon"] - 119.8952) < 1e-6 and abs(body["lat"] - 28.4550) < 1e-6


def test_report_refusals(client, world):
    worker = world["tokens"]["worker"]
    outside = _report(client, worker, lon=119.700, lat=28.455)
    assert outside.status_code == 422 and outside.get_json()["error"]["code"] == "not_in_any_grid"
    neighbour = _report(client, worker, lon=119.895, lat=28.455)
    assert neighbour.status_code == 422 and neighbour.get_json()["error"]["code"] == "hazard_outside_scope"
    unknown = _report(client, worker, category="ufo")
    assert unknown.status_code == 422 and unknown.get_json()["error"]["details"]["choices"][0]["name"] == "治安"
    assert _report(client, worker, severity="huge").status_code == 400
    assert _report(client, worker, crs="EPSG:99999").status_code == 422
    assert _report(client, world["tokens"]["planner"]).status_code == 403
    assert client.post("/api/v1/hazards", json={"category": "fire"}).status_code == 401
    by_name = _report(client, worker, category="噪声")
    assert by_name.status_code == 201 and by_name.get_json()["category"] == "noise"


def test_possible_duplicates_within_50_m_of_an_open_one_of_the_same_category(client, world):
    token = world["tokens"]["community"]
    first = _report(client, token).get_json()
    # ~33 m east: a duplicate; ~78 m north: not; same place, other category: not.
    near = _report(client, token, lon=IN_A[0] + 0.00034).get_json()
    assert [d["code"] for d in near["possible_duplicates"]] == [first["code"]]
    assert 25 < near["possible_duplicates"][0]["distance_m"] < 40
    assert _report(client, token, lat=IN_A[1] + 0.0007).get_json()["possible_duplicates"] == []
    assert _report(client, token, category="noise").get_json()["possible_duplicates"] == []
    # Once closed (rejected), it no longer counts.
    _act(client, token, first["id"], "reject", note="重复上报")
    _act(client, token, near["id"], "reject", note="重复上报")
    assert _report(client, token).get_json()["possible_duplicates"] == []


def test_the_whole_loop_from_report_to_close_records_every_step(client, world):
    hazard_id = _report(client, world["tokens"]["worker"]).get_json()["id"]
    _drive(client, world, hazard_id, "closed")
    detail = client.get(f"/api/v1/hazards/{hazard_id}", headers=f.auth(world["tokens"]["district"])).get_json()
    assert detail["status"] == "closed" and detail["closed_at"] and detail["resolved_at"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in detail["events"]] == [
        ("report", None, "reported"), ("accept", "reported", "accepted"), ("assign", "accepted", "assigned"),
        ("start", "assigned", "in_progress"), ("feedback", "in_progress", "feedback"),
        ("verify", "feedback", "verified"), ("close", "verified", "closed")]
    assert detail["events"][2]["detail"] == {"assignee": "worker-a"}
    assert all(e["actor"] and e["at"] for e in detail["events"])
    assert detail["assignee"]["username"] == "worker-a" and detail["version"] == 7
    assert detail["allowed_actions"] == []


REFUSED = [(status, action) for status in ("reported", "accepted", "assigned", "in_progress", "feedback",
                                           "verified", "closed", "rejected")
           for action in LOOP_ACTIONS if status not in RULES[action]]  # whistle: tests/api/test_departments.py


@pytest.mark.parametrize(("status", "action"), REFUSED)
def test_every_action_not_possible_in_a_status_is_a_409_listing_the_allowed_ones(client, world, status, action):
    hazard_id = _report(client, world["tokens"]["worker"]).get_json()["id"]
    _drive(client, world, hazard_id, status)
    response = _act(client, world["tokens"]["admin"], hazard_id, action, note="试一试", assignee="worker-a")
    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "hazard_action_not_allowed" and error["details"]["status"] == status
    assert action not in error["details"]["allowed"]
    # reopen: only a fix on the spot; revisit: only a resident's item (tests/api/test_revisit.py)
    expected = [a for a in ACTIONS if status in RULES[a] and a not in ("reopen", "revisit")]
    assert error["details"]["allowed"] == expected
    assert "不能执行" in error["message"]


def test_roles_each_action_needs(client, world):
    t = world["tokens"]
    hazard_id = _report(client, t["worker"]).get_json()["id"]
    # A grid worker may not accept; a supervisor of another street does not even see it.
    refused = _act(client, t["worker"], hazard_id, "accept")
    assert refused.status_code == 403 and refused.get_json()["error"]["details"]["allowed"] == ["escalate"]
    assert _act(client, t["other_street"], hazard_id, "accept").status_code == 404
    assert _act(client, t["worker_b"], hazard_id, "accept").status_code == 404
    assert _act(client, t["community"], hazard_id, "accept").status_code == 200
    # Assign: the assignee must exist and cover the grid.
    missing = _act(client, t["community"], hazard_id, "assign")
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "hazard_assignee_required"
    assert _act(client, t["community"], hazard_id, "assign", assignee="worker-b").status_code == 422
    assert _act(client, t["community"], hazard_id, "assign", assignee="nobody").status_code == 422
    assert _act(client, t["community"], hazard_id, "assign", assignee="worker-a").status_code == 200
    # Only the assignee (or a manager) starts; another grid worker cannot.
    assert _act(client, t["worker_b"], hazard_id, "start").status_code == 404
    assert _act(client, t["worker"], hazard_id, "start").status_code == 200
    assert _act(client, t["worker"], hazard_id, "feedback", note="已清理").status_code == 200
    # The assignee cannot verify their own work.
    verify = _act(client, t["worker"], hazard_id, "verify")
    assert verify.status_code == 403 and verify.get_json()["error"]["details"]["allowed"] == []
    assert _act(client, t["street"], hazard_id, "verify").status_code == 200


def test_reject_refuses_a_report_returns_an_assignment_and_returns_feedback_for_rework(client, world):
    t = world["tokens"]
    first = _report(client, t["worker"]).get_json()["id"]
    no_note = _act(client, t["community"], first, "reject")
    assert no_note.status_code == 422 and no_note.get_json()["error"]["code"] == "hazard_note_required"
    rejected = _act(client, t["community"], first, "reject", note="不属于隐患").get_json()
    assert rejected["status"] == "rejected" and rejected["closed_at"]

    second = _report(client, t["worker"]).get_json()["id"]
    _drive(client, world, second, "assigned")
    handed_back = _act(client, t["worker"], second, "reject", note="不在我的职责范围").get_json()
    assert handed_back["status"] == "accepted" and handed_back["assignee"] is None
    _act(client, t["community"], second, "assign", assignee="worker-a")
    _act(client, t["worker"], second, "start")
    _act(client, t["worker"], second, "feedback", note="已处理")
    returned = _act(client, t["community"], second, "reject", note="现场仍有杂物").get_json()
    assert returned["status"] == "in_progress"
    assert [e["action"] for e in returned["events"]][-1] == "reject"


def test_escalation_climbs_grid_community_street_district_with_new_managers(client, world):
    t = world["tokens"]
    hazard_id = _report(client, t["worker"]).get_json()["id"]
    _drive(client, world, hazard_id, "in_progress")
    up = _act(client, t["worker"], hazard_id, "escalate", note="需要社区协调（吹哨）").get_json()
    assert (up["status"], up["level"], up["assignee"]) == ("reported", "community", None)
    # At community level the grid worker no longer escalates; the community supervisor does.
    assert _act(client, t["worker"], hazard_id, "escalate", note="再上报").status_code == 403
    street = _act(client, t["community"], hazard_id, "escalate", note="涉及多个社区").get_json()
    assert street["level"] == "street"
    # A community supervisor no longer manages it; the street supervisor does.
    assert _act(client, t["community"], hazard_id, "accept").status_code == 403
    district = _act(client, t["street"], hazard_id, "escalate", note="需要区级部门").get_json()
    assert district["level"] == "district"
    assert _act(client, t["street"], hazard_id, "accept").status_code == 403
    top = _act(client, t["district"], hazard_id, "escalate", note="还能再上吗")
    assert top.status_code == 409 and top.get_json()["error"]["code"] == "hazard_top_level"
    assert _act(client, t["district"], hazard_id, "accept").get_json()["status"] == "accepted"
    events = client.get(f"/api/v1/hazards/{hazard_id}", headers=f.auth(t["admin"])).get_json()["events"]
    assert [e["detail"].get("to_level") for e in events if e["action"] == "escalate"] == [
        "community", "street", "district"]


def test_stale_version_is_a_409(client, world):
    t = world["tokens"]
    hazard = _report(client, t["worker"]).get_json()
    detail = client.get(f"/api/v1/hazards/{hazard['id']}", headers=f.auth(t["community"])).get_json()
    assert _act(client, t["community"], hazard["id"], "accept", version=detail["version"]).status_code == 200
    stale = _act(client, t["community"], hazard["id"], "assign", assignee="worker-a", version=detail["version"])
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "hazard_stale"


def test_unknown_action_and_unknown_hazard(client, world):
    t = world["tokens"]
    hazard_id = _report(client, t["worker"]).get_json()["id"]
    assert _act(client, t["community"], hazard_id, "teleport").status_code == 400
    assert _act(client, t["community"], 999999, "accept").status_code == 404
    assert client.get("/api/v1/hazards/999999", headers=f.auth(t["admin"])).status_code == 404


def test_list_is_scoped_filtered_and_overdue_first(client, db_session, world):
    t = world["tokens"]
    admin_scope = Scope.everything()
    long_ago = datetime(2026, 3, 2, 9, tzinfo=UTC)
    old = service.report(db_session, admin_scope, category="fire", severity="normal", description="旧问题",
                         lon=IN_A[0], lat=IN_A[1], crs=None, now=long_ago)
    fresh = _report(client, t["worker"]).get_json()
    other = _report(client, t["admin"], lon=119.93, lat=28.45, category="noise").get_json()
    body = client.get("/api/v1/hazards", headers=f.auth(t["street"])).get_json()
    assert body["total"] == 2
    assert [ft["properties"]["code"] for ft in body["features"]] == [old["code"], fresh["code"]]
    assert body["features"][0]["properties"]["overdue"] is True
    assert body["features"][0]["geometry"] == {"type": "Point", "coordinates": [IN_A[0], IN_A[1]]}
    overdue = client.get("/api/v1/hazards?overdue=true", headers=f.auth(t["admin"])).get_json()
    assert [ft["id"] for ft in overdue["features"]] == [old["id"]]
    assert client.get("/api/v1/hazards?category=noise", headers=f.auth(t["admin"])).get_json()["total"] == 1
    assert client.get("/api/v1/hazards?category=噪声", headers=f.auth(t["admin"])).get_json()["total"] == 1
    assert client.get(f"/api/v1/hazards?within={f.OTHER_STREET}",
                      headers=f.auth(t["street"])).get_json()["total"] == 0
    assert client.get("/api/v1/hazards?bbox=119.91,28.43,119.96,28.49",
                      headers=f.auth(t["admin"])).get_json()["features"][0]["id"] == other["id"]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert client.get(f"/api/v1/hazards?since={since}", headers=f.auth(t["admin"])).get_json()["total"] == 2
    assert client.get("/api/v1/hazards?until=2026-04-01T00:00:00%2B08:00",
                      headers=f.auth(t["admin"])).get_json()["total"] == 1
    assert client.get("/api/v1/hazards?status=reported,closed", headers=f.auth(t["admin"])).get_json()["total"] == 3
    assert client.get("/api/v1/hazards?status=lost", headers=f.auth(t["admin"])).status_code == 400
    assert client.get("/api/v1/hazards", headers=f.auth(t["worker_b"])).get_json()["total"] == 0


def test_deadlines_follow_category_and_severity_rules(client, db_session, world):
    from gridmap.hazards.models import HazardDeadlineRule

    scope = Scope.everything()
    start = datetime(2026, 9, 30, 2, tzinfo=UTC)  # Wednesday 10:00 in Beijing, before National Day

    def deadlines(category, severity):
        result = service.report(db_session, scope, category=category, severity=severity, description="",
                                lon=IN_A[0], lat=IN_A[1], crs=None, now=start)
        return result["deadlines"]["accept_by"], result["deadlines"]["resolve_by"]

    assert deadlines("fire", "normal") == ("2026-10-08T10:00:00+08:00", "2026-10-10T10:00:00+08:00")
    assert deadlines("fire", "complex") == ("2026-10-08T10:00:00+08:00", "2026-10-13T10:00:00+08:00")
    assert deadlines("fire", "urgent") == ("2026-09-30T11:00:00+08:00", "2026-10-08T10:00:00+08:00")
    db_session.add(HazardDeadlineRule(category_code="noise", severity="normal", accept_hours=4,
                                      resolve_working_days=2))
    db_session.commit()
    assert deadlines("noise", "normal") == ("2026-09-30T14:00:00+08:00", "2026-10-09T10:00:00+08:00")
    assert deadlines("fire", "normal")[1] == "2026-10-10T10:00:00+08:00"


def test_calendar_deadline_endpoint_and_admin_loaded_year(client, world):
    t = world["tokens"]
    ok = client.get("/api/v1/calendar/deadline?start=2026-09-30T10:00:00%2B08:00&working_days=3",
                    headers=f.auth(t["worker"])).get_json()
    assert ok == {"due": "2026-10-10T10:00:00+08:00", "calendar": "official"}
    past = client.get("/api/v1/calendar/deadline?start=2026-12-31T10:00:00&working_days=1",
                      headers=f.auth(t["worker"])).get_json()
    assert past == {"due": "2027-01-01T10:00:00+08:00", "calendar": "fallback"}
    assert client.get("/api/v1/calendar/deadline?start=yesterday&working_days=1",
                      headers=f.auth(t["worker"])).status_code == 400
    assert client.get("/api/v1/calendar/deadline?start=2026-12-31&working_days=1").status_code == 401
    year = {"year": 2027, "source": "国办发明电〔2026〕X号", "days": [
        {"date": "2027-01-01", "is_workday": False, "name": "元旦"},
        {"date": "2027-01-02", "is_workday": False, "name": "元旦"}]}
    assert client.post("/api/v1/calendar/holidays", json=year, headers=f.auth(t["district"])).status_code == 403
    loaded = client.post("/api/v1/calendar/holidays", json=year, headers=f.auth(t["admin"]))
    assert loaded.get_json() == {"year": 2027, "days": 2, "holidays": 2, "workdays": 0}
    now_official = client.get("/api/v1/calendar/deadline?start=2026-12-31T10:00:00&working_days=1",
                              headers=f.auth(t["worker"])).get_json()
    assert now_official == {"due": "2027-01-04T10:00:00+08:00", "calendar": "official"}
    wrong = dict(year, days=[{"date": "2028-01-01", "is_workday": False}])
    assert client.post("/api/v1/calendar/holidays", json=wrong, headers=f.auth(t["admin"])).status_code == 422


def test_openapi_lists_the_hazard_operations(client, world):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/hazards", "/api/v1/hazards/{hazard_id}", "/api/v1/hazards/{hazard_id}/actions",
            "/api/v1/calendar/deadline"} <= set(paths)
    assert "409" in paths["/api/v1/hazards/{hazard_id}/actions"]["post"]["responses"]

