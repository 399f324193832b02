"""Scope, row by row, for every WRITE operation: a caller with the right role but the wrong
area — the grid worker of the neighbouring grid, a supervisor or planner of another street —
aims at an object or a location of grid A (community 城北, street 紫金) and gets the 404
(object) or 422 (location) the declared scope rule promises, and not one row anywhere
changes. The cases are listed per registered operation: a new write operation without a
case for each of its non-admin roles fails ``test_every_write_operation_has_scope_cases``
(an operation that takes neither an object nor a location goes in ``NO_OBJECT`` with the
reason)."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import text

import gridmap.models  # noqa: F401  (every table in the metadata)
from gridmap.api import api_blueprints
from gridmap.apidoc import OPERATIONS
from gridmap.auth.roles import ADMIN
from gridmap.auth.scope import AREA_RULES, OWN_ACCOUNT, OWN_TOKEN, Scope
from gridmap.db import Base
from gridmap.departments import service as departments
from gridmap.hazards import service as hazards
from gridmap.households import edits as household_edits
from gridmap.party import service as party
from gridmap.patrol_plan import service as patrol_plans
from gridmap.places import service as places
from tests import factories as f

api_blueprints()
WRITES = {(op.method, op.path): op for op in OPERATIONS if op.method in ("POST", "PUT", "PATCH", "DELETE")}
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEEP_IN_A = (119.882, 28.455)  # 800 m inside grid A's border with B
# Each outsider has the role but not the area of grid A.
OUTSIDER_SCOPE = {"grid_worker": f.GRID_B, "supervisor": f.OTHER_STREET, "planner": f.OTHER_STREET,
                  "party_member": f.GRID_B,  # the party member of grid B (world's member_b)
                  "department": f.OTHER_STREET}  # 消防 of the other street
# Rows kept in these tables are what a refused write must leave alone (logins and
# tokens change as the test logs its callers in).
UNTOUCHED_TABLES = sorted(t.name for t in Base.metadata.sorted_tables
                          if t.name not in ("app_user", "api_token", "login_failure"))


@dataclass
class Case:
    role: str
    request: Callable[[dict[str, Any]], dict[str, Any]]  # world → client.open() keyword arguments
    status: int
    code: str
    label: str = ""
    scope: str | None = None  # the caller's area when not the role's usual outsider area


def _json(method: str, url: str, body: dict[str, Any] | None = None):
    return lambda w: {"method": method, "path": url.format(**w), "json": body if body is not None else {}}


def _file(url: str, name: str, content: Callable[[dict[str, Any]], bytes], **form: str):
    return lambda w: {"method": "POST", "path": url.format(**w), "content_type": "multipart/form-data",
                      "data": {"file": (io.BytesIO(content(w)), name), **form}}


def _square(lon: float, lat: float, d: float = 0.002) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d],
                                                [lon, lat]]]}


GRID_A_SHAPE = _square(119.880, 28.450, 0.010)
GRID_C_SHAPE = _square(119.920, 28.440, 0.030)
PROPOSAL = {"type": "Feature", "geometry": _square(119.872, 28.442), "properties": {}}
CHECKIN = {"lon": DEEP_IN_A[0], "lat": DEEP_IN_A[1], "accuracy_m": 10, "household_code": "A1"}
PLACES_CSV = f"名称,类型,经度,纬度\n城北加油站,gas_station,{DEEP_IN_A[0]},{DEEP_IN_A[1]}\n".encode()

_GW, _SUP, _PL, _PM, _DEP = "grid_worker", "supervisor", "planner", "party_member", "department"


def _each(roles, request, status, code, label=""):
    return [Case(role, request, status, code, label) for role in roles]


CASES: dict[tuple[str, str], list[Case]] = {
    ("POST", "/api/v1/checkins"): _each(
        (_GW, _SUP), lambda w: {"method": "POST", "path": "/api/v1/checkins",
                                "json": {**CHECKIN, "id": str(uuid.uuid4()),
                                         "recorded_at": datetime.now(UTC).isoformat()}},
        422, "household_not_found", "a visit to a household of grid A"),
    ("POST", "/api/v1/party-visits"): _each(
        (_PM,), _json("POST", "/api/v1/party-visits", {"client_id": "6f1c2a4e-0000-4000-8000-000000000001",
                                                       "household_code": "A1", "note": "走访",
                                                       "lon": DEEP_IN_A[0], "lat": DEEP_IN_A[1]}),
        404, "household_not_found", "a visit to member A's contact in grid A"),
    ("POST", "/api/v1/communities/<code>/grids"): [
        Case(_PL, _json("POST", f"/api/v1/communities/{f.COMMUNITY}/grids",
                        {"geometry": _square(119.871, 28.441), "reason": "新建"}), 404, "area_not_found"),
        Case(_PL, _json("POST", f"/api/v1/communities/{f.OTHER_COMMUNITY}/grids",
                        {"geometry": GRID_A_SHAPE, "reason": "新建", "force": True}),
             422, "grid_outside_community", "own community, grid A's land"),
    ],
    ("POST", "/api/v1/communities/<code>/grids/preview"): _each(
        (_PL,), _json("POST", f"/api/v1/communities/{f.COMMUNITY}/grids/preview",
                      {"geometry": _square(119.871, 28.441)}), 404, "area_not_found"),
    ("PUT", "/api/v1/grids/<code>/geometry"): [
        Case(_PL, _json("PUT", f"/api/v1/grids/{f.GRID_A}/geometry",
                        {"geometry": GRID_A_SHAPE, "version": 1, "reason": "调整"}), 404, "grid_not_found"),
        Case(_PL, _json("PUT", f"/api/v1/grids/{f.GRID_C}/geometry",
                        {"geometry": {"type": "MultiPolygon", "coordinates": [GRID_C_SHAPE["coordinates"],
                                                                              GRID_A_SHAPE["coordinates"]]},
                         "version": 1, "reason": "调整", "force": True}),
             422, "grid_outside_community", "own grid stretched over grid A"),
    ],
    ("POST", "/api/v1/grids/<code>/preview"): _each(
        (_PL,), _json("POST", f"/api/v1/grids/{f.GRID_A}/preview", {"geometry": GRID_A_SHAPE}), 404, "grid_not_found"),
    ("POST", "/api/v1/grids/<code>/split"): _each(
        (_PL,), _json("POST", f"/api/v1/grids/{f.GRID_A}/split",
                      {"line": {"type": "LineString", "coordinates": [[119.885, 28.449], [119.885, 28.461]]},
                       "reason": "拆分", "version": 1}), 404, "grid_not_found"),
    ("POST", "/api/v1/grids/<code>/revert"): _each(
        (_PL,), _json("POST", f"/api/v1/grids/{f.GRID_A}/revert", {"version": 1, "reason": "恢复"}),
        404, "grid_not_found"),
    ("POST", "/api/v1/grids/merge"): [
        Case(_PL, _json("POST", "/api/v1/grids/merge", {"codes": [f.GRID_A, f.GRID_B], "reason": "合并"}),
             404, "grid_not_found"),
        Case(_PL, _json("POST", "/api/v1/grids/merge", {"codes": [f.GRID_A, f.GRID_C], "reason": "合并"}),
             404, "grid_not_found", "one grid in, one out", scope=f.STREET),
    ],
    ("POST", "/api/v1/planning/proposals"): _each(
        (_PL,), _json("POST", "/api/v1/planning/proposals", {"within": f.COMMUNITY}), 404, "area_not_found"),
    ("POST", "/api/v1/planning/proposals/preview"): _each(
        (_PL,), _json("POST", "/api/v1/planning/proposals/preview", {"within": f.COMMUNITY, "features": [PROPOSAL]}),
        404, "area_not_found"),
    ("POST", "/api/v1/planning/proposals/accept"): [
        Case(_PL, _json("POST", "/api/v1/planning/proposals/accept",
                        {"within": f.COMMUNITY, "features": [PROPOSAL], "reason": "采纳"}), 404, "area_not_found"),
        Case(_PL, _json("POST", "/api/v1/planning/proposals/accept",
                        {"within": f.OTHER_COMMUNITY, "reason": "采纳",
                         "features": [{"type": "Feature", "geometry": GRID_A_SHAPE, "properties": {}}]}),
             422, "grid_outside_community", "own community, grid A's land"),
    ],
    ("POST", "/api/v1/imports/areas"): [
        Case(_PL, _file("/api/v1/imports/areas", "grids.geojson",
                        lambda w: (FIXTURES / "lishui_grids.geojson").read_text().replace("119.890", "119.895").encode(),
                        level="grid"), 422, "import_rejected", "grid A's boundary in a file"),
        # hole found: a code in scope was enough, and the boundary took grid A's land (and households)
        Case(_PL, _file("/api/v1/imports/areas", "grids.geojson", lambda w: json.dumps({
            "type": "FeatureCollection", "features": [{"type": "Feature", "geometry": GRID_A_SHAPE, "properties": {
                "code": "331102002001002", "name": "丽阳社区第2网格", "parent": f.OTHER_COMMUNITY}}]}).encode(),
                        level="grid"), 422, "import_rejected", "own code, grid A's land"),
    ],
    ("POST", "/api/v1/grids/<code>/key-places"): [
        *_each((_GW, _SUP), _json("POST", f"/api/v1/grids/{f.GRID_A}/key-places",
                                  {"name": "城北加油站", "kind": "gas_station", "lon": DEEP_IN_A[0], "lat": DEEP_IN_A[1]}),
               404, "grid_not_found", "into grid A"),
        Case(_GW, _json("POST", f"/api/v1/grids/{f.GRID_B}/key-places",
                        {"name": "城北加油站", "kind": "gas_station", "lon": DEEP_IN_A[0], "lat": DEEP_IN_A[1]}),
             422, "key_place_outside_grid", "own grid, a point deep in grid A"),
    ],
    ("DELETE", "/api/v1/grids/<code>/key-places/<int:place_id>"): [
        *_each((_GW, _SUP), _json("DELETE", f"/api/v1/grids/{f.GRID_A}/key-places/{{place}}"), 404, "grid_not_found"),
        Case(_GW, _json("DELETE", f"/api/v1/grids/{f.GRID_B}/key-places/{{place}}"), 404, "key_place_not_found",
             "grid A's place through the own grid"),
    ],
    ("POST", "/api/v1/imports/key-places"): _each(
        (_GW, _SUP), _file("/api/v1/imports/key-places", "places.csv", lambda w: PLACES_CSV), 422, "import_rejected",
        "a place in grid A in a file"),
    ("POST", "/api/v1/grids/<code>/party-contacts"): _each(
        (_GW, _SUP), _json("POST", f"/api/v1/grids/{f.GRID_A}/party-contacts", {"max_per_member": 5}),
        404, "grid_not_found"),
    ("PUT", "/api/v1/grids/<code>/staff"): _each(
        (_SUP,), _json("PUT", f"/api/v1/grids/{f.GRID_A}/staff", {"items": [{"role": "police", "name": "张警官"}]}),
        404, "grid_not_found"),
    ("POST", "/api/v1/grids/<code>/handovers"): _each(
        (_SUP,), _json("POST", f"/api/v1/grids/{f.GRID_A}/handovers"), 404, "grid_not_found"),
    ("POST", "/api/v1/party-members"): [
        *_each((_GW, _SUP), _json("POST", "/api/v1/party-members",
                                  {"name": "王党员", "lon": DEEP_IN_A[0], "lat": DEEP_IN_A[1]}),
               422, "party_member_out_of_scope", "living at a point in grid A"),
        *_each((_GW, _SUP), _json("POST", "/api/v1/party-members", {"name": "王党员", "household_code": "A1"}),
               422, "household_not_found", "living in a household of grid A"),
    ],
    ("PATCH", "/api/v1/party-members/<int:member_id>"): [
        *_each((_GW, _SUP), _json("PATCH", "/api/v1/party-members/{member_a}", {"phone": "13900000000"}),
               404, "party_member_not_found"),
        Case(_GW, _json("PATCH", "/api/v1/party-members/{member_b}", {"lon": DEEP_IN_A[0], "lat": DEEP_IN_A[1]}),
             422, "party_member_out_of_scope", "own member moved into grid A"),
    ],
    ("PUT", "/api/v1/party-members/<int:member_id>/households/<household_code>"): [
        *_each((_GW, _SUP), _json("PUT", "/api/v1/party-members/{member_a}/households/A1", {"pinned": True}),
               404, "party_member_not_found"),
        Case(_GW, _json("PUT", "/api/v1/party-members/{member_b}/households/A1", {"pinned": True}),
             404, "household_not_found", "own member, grid A's household"),
    ],
    ("DELETE", "/api/v1/party-members/<int:member_id>/households/<household_code>"): _each(
        (_GW, _SUP), _json("DELETE", "/api/v1/party-members/{member_a}/households/A1"), 404, "party_member_not_found"),
    ("POST", "/api/v1/households"): _each(
        (_GW, _SUP), _json("POST", "/api/v1/households", {"code": "A9", "lon": DEEP_IN_A[0], "lat": DEEP_IN_A[1]}),
        422, "household_outside_scope", "a new household at a point in grid A"),
    ("PATCH", "/api/v1/households/<household:household_code>"): [
        *_each((_GW, _SUP), _json("PATCH", "/api/v1/households/A1", {"version": 1, "address": "别处"}),
               404, "household_not_found"),
        Case(_GW, _json("PATCH", "/api/v1/households/B1", {"version": 1, "lon": DEEP_IN_A[0], "lat": DEEP_IN_A[1]}),
             422, "household_outside_scope", "own household moved into grid A"),
    ],
    ("POST", "/api/v1/households/<household:household_code>/changes/<int:change_id>/approve"): _each(
        (_SUP,), _json("POST", "/api/v1/households/A1/changes/{change}/approve", {}), 404, "household_not_found"),
    ("POST", "/api/v1/households/<household:household_code>/changes/<int:change_id>/reject"): _each(
        (_SUP,), _json("POST", "/api/v1/households/A1/changes/{change}/reject", {}), 404, "household_not_found"),
    ("PUT", "/api/v1/patrol-plans"): [
        Case(_SUP, _json("PUT", "/api/v1/patrol-plans", {"subject": "grid", "code": f.GRID_A, "period": "day",
                                                         "min_count": 1}), 404, "area_not_found", "grid A's plan"),
        Case(_SUP, lambda w: {"method": "PUT", "path": "/api/v1/patrol-plans", "json": {
            "subject": "place", "code": f.GRID_C, "place_id": w["place"], "period": "day", "min_count": 1}},
             404, "key_place_not_found", "grid A's place through an own grid"),
    ],
    ("DELETE", "/api/v1/patrol-plans/<int:plan_id>"): _each(
        (_SUP,), _json("DELETE", "/api/v1/patrol-plans/{plan}"), 404, "patrol_plan_not_found"),
    ("POST", "/api/v1/hazards"): _each(
        (_GW, _SUP), _json("POST", "/api/v1/hazards", {"category": "fire", "severity": "normal",
                                                       "description": "楼道堆放杂物", "lon": DEEP_IN_A[0],
                                                       "lat": DEEP_IN_A[1]}),
        422, "hazard_outside_scope", "at a point in grid A"),
    ("POST", "/api/v1/hazards/<int:hazard_id>/actions"): _each(
        (_GW, _SUP), _json("POST", "/api/v1/hazards/{hazard}/actions", {"action": "accept", "note": "受理"}),
        404, "hazard_not_found"),
    ("POST", "/api/v1/hazards/on-the-spot"): _each(
        (_GW,), lambda w: {"method": "POST", "path": "/api/v1/hazards/on-the-spot", "content_type": "multipart/form-data",
                           "data": {"category": "fire", "description": "已当场清理", "lon": str(DEEP_IN_A[0]),
                                    "lat": str(DEEP_IN_A[1]), "before": (io.BytesIO(f.png(8)), "before.png"),
                                    "after": (io.BytesIO(f.png(12)), "after.png")}},
        422, "hazard_outside_scope", "a fix at a point in grid A"),
    ("POST", "/api/v1/hazards/<int:hazard_id>/whistle"): _each(
        (_SUP,), _json("POST", "/api/v1/hazards/{hazard}/whistle", {"note": "吹哨"}), 404, "hazard_not_found"),
    ("POST", "/api/v1/hazards/<int:hazard_id>/recall"): _each(
        (_SUP,), _json("POST", "/api/v1/hazards/{hazard}/recall", {"note": "撤回"}), 404, "hazard_not_found"),
    ("POST", "/api/v1/department/assignments/<int:assignment_id>/report"): _each(
        (_DEP,), _json("POST", "/api/v1/department/assignments/{assignment}/report"), 404, "assignment_not_found",
        "grid A's item whistled to 消防"),
    ("POST", "/api/v1/department/assignments/<int:assignment_id>/feedback"): _each(
        (_DEP,), lambda w: {"method": "POST", "path": f"/api/v1/department/assignments/{w['assignment']}/feedback",
                            "content_type": "multipart/form-data",
                            "data": {"note": "已处理", "file": (io.BytesIO(f.png()), "after.png")}},
        404, "assignment_not_found", "grid A's item whistled to 消防"),
    ("POST", "/api/v1/hazards/<int:hazard_id>/photos"): _each(
        (_GW, _SUP), _file("/api/v1/hazards/{hazard}/photos", "photo.png", lambda w: f.png()), 404, "hazard_not_found"),
}

NO_OBJECT = {
    ("POST", "/api/v1/auth/token"): "logs in: no object, no location",
    ("DELETE", "/api/v1/auth/token"): "revokes the caller's own token only",
    ("POST", "/api/v1/auth/password"): "changes the caller's own password only",
    ("POST", "/api/v1/calendar/holidays"): "the official calendar is reference data for every area (admin only)",
    ("PUT", "/api/v1/department-routes"): "routing rules are reference data for every area (admin only)",
    ("DELETE", "/api/v1/department-routes/<int:route_id>"): "routing rules are reference data (admin only)",
    ("POST", "/api/v1/assign"): "admin only, whole database: an admin's scope is everything",
    ("POST", "/api/v1/imports/households"): "admin only: an admin's scope is everything",
    ("POST", "/api/v1/imports/party-members"): "admin only: an admin's scope is everything",
    ("POST", "/api/v1/public/reports"): "the residents' form, no login: the point must lie in the grid it names "
                                        "(tests/api/test_public_reports.py)",
    ("POST", "/api/v1/public/reports/<tracking_code>/satisfaction"):
        "the resident's 回访 answer, no login: the tracking code is the secret; a wrong one is 404 and writes "
        "nothing (tests/api/test_revisit.py)",
}

PARAMS = [(key, case) for key, cases in CASES.items() for case in cases]


def test_every_write_operation_has_scope_cases():
    missing = sorted(set(WRITES) - set(CASES) - set(NO_OBJECT))
    assert not missing, f"write operations without scope cases (add them to CASES or NO_OBJECT): {missing}"
    assert not set(CASES) & set(NO_OBJECT)
    assert set(CASES) | set(NO_OBJECT) <= set(WRITES), "cases for operations that no longer exist"
    for key in CASES:
        op = WRITES[key]
        assert op.scope in AREA_RULES, (key, op.scope)
        assert {c.role for c in CASES[key]} == set(op.roles) - {ADMIN}, f"{key}: a case per non-admin role"
    for key, reason in NO_OBJECT.items():
        op = WRITES[key]
        assert op.scope not in AREA_RULES, f"{key} is declared {op.scope}: it needs scope cases, not: {reason}"
        assert op.roles in ((ADMIN,), ("*",)) or op.scope in (OWN_TOKEN, OWN_ACCOUNT), key


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    grids = w["grids"]
    f.household(db_session, "A1", *DEEP_IN_A, grids[f.GRID_A], head_name="张三", phone="13800000001")
    f.household(db_session, "B1", 119.895, 28.455, grids[f.GRID_B], head_name="李四", phone="13800000002")
    db_session.commit()
    everything = Scope.everything()
    member_a = party.create_member(db_session, everything, {"name": "党员甲", "household_code": "A1"})["id"]
    member_b = party.create_member(db_session, everything, {"name": "党员乙", "household_code": "B1"})["id"]
    party.set_contact(db_session, everything, member_a, "A1")
    party.replace_grid_staff(db_session, everything, f.GRID_A, [{"role": "grid_leader", "name": "赵网格长"}])
    place = places.create_key_place(db_session, everything, f.GRID_A,
                                    {"name": "城北小学", "kind": "school", "lon": 119.884, "lat": 28.453})
    hazard = hazards.report(db_session, everything, category="fire", severity="normal", description="消防通道堵塞",
                            lon=119.886, lat=28.456, crs=None)
    worker_a = Scope(prefix=f.GRID_A, role="grid_worker", username="worker-a")
    household_edits.update(db_session, worker_a, "A1", {"version": 1, "risk_level": "high"}, "phone")
    change = db_session.scalar(text("SELECT id FROM household_change WHERE status = 'pending'"))
    hazards.act(db_session, everything, hazard["id"], "accept")
    f.department_token(db_session, "xiaofang", f.STREET, username="on-duty")  # a 消防 user of grid A's street: someone to 报到
    departments.whistle(db_session, everything, hazard["id"], note="", default_days=1)  # to 消防 (seeded rule)
    assignment = db_session.scalar(text("SELECT id FROM hazard_assignment"))
    plan = patrol_plans.set_plan(db_session, everything, {"subject": "grid", "code": f.GRID_A, "place_id": None,
                                                         "period": "week", "min_count": 3})
    return {"member_a": member_a, "member_b": member_b, "place": place["properties"]["id"],
            "hazard": hazard["id"], "change": change, "plan": plan["id"], "assignment": assignment}


def _snapshot(db_session) -> dict[str, str]:
    """Every row of every table a write could touch, as one digest per table."""
    return {name: db_session.execute(text(
        f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {name} t"
    )).scalar_one() for name in UNTOUCHED_TABLES}


@pytest.mark.parametrize("key, case", PARAMS,
                         ids=[f"{k[0]} {k[1]} as {c.role}{' (' + c.label + ')' if c.label else ''}" for k, c in PARAMS])
def test_a_write_outside_the_callers_scope_is_refused_and_changes_nothing(client, db_session, world, key, case):
    if case.role == _DEP:
        token = f.department_token(db_session, "xiaofang", case.scope or OUTSIDER_SCOPE[case.role])
    else:
        member = {"party_member_id": world["member_b"]} if case.role == _PM else {}
        token = f.token_for(db_session, case.role, case.scope or OUTSIDER_SCOPE[case.role], **member)
    before = _snapshot(db_session)
    response = client.open(headers=f.auth(token), **case.request(world))
    body = response.get_json(silent=True) or {}
    assert (response.status_code, body.get("error", {}).get("code")) == (case.status, case.code), body
    assert _snapshot(db_session) == before
