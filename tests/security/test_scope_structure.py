"""Scope by structure (issue 14, item 3), attacked from outside.

* Codes have their level's length: a grid code of 13, 14 or 16 digits (a prefix of its
  siblings' codes, or under one) is refused on import, by the database and as a user's scope.
* Pages are declared like API operations and show no more than the API would to the same user.
* Party-member contacts stay inside the member's grid unless a supervisor says otherwise, and
  then masking follows the household's grid.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from gridmap.api import api_blueprints
from gridmap.apidoc import OPERATIONS
from gridmap.areas.models import Grid
from gridmap.auth.models import User
from gridmap.auth.scope import Scope
from gridmap.errors import BadRequest
from tests import factories as f

api_blueprints()

# --- 1. codes have their level's length ---------------------------------------------------------

# A 13-digit "grid" is a prefix of ten 15-digit grids of its community; a 14-digit one of a few;
# a 16-digit one sits under a 15-digit grid. Each would let a scope reach into a sibling.
BAD_GRID_CODES = ["3311020010011", "33110200100110", "3311020010011001", "331102001001"]


def _grid_file(code: str, parent: str = f.COMMUNITY) -> bytes:
    x0, y0, x1, y1 = f.BOXES[f.GRID_A]
    feature = {"type": "Feature", "properties": {"code": code, "name": "新网格", "parent": parent},
               "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}}
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def _import(client, token, content: bytes, level: str, filename: str = "areas.geojson"):
    return client.post("/api/v1/imports/areas", data={"file": (io.BytesIO(content), filename), "level": level},
                       headers=f.auth(token), content_type="multipart/form-data")


@pytest.mark.parametrize("code", BAD_GRID_CODES)
def test_a_grid_code_of_another_length_is_a_row_error_and_nothing_is_written(client, db_session, code):
    f.lishui(db_session)
    before = db_session.scalar(select(func.count()).select_from(Grid))
    response = _import(client, f.token_for(db_session, "admin"), _grid_file(code), "grid")
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["error"]["details"]["errors"]
    assert any(e["field"] == "code" and "不符合网格编码规则" in e["message"] and "15 位" in e["message"]
               for e in errors), errors
    assert db_session.scalar(select(func.count()).select_from(Grid)) == before


def test_padded_official_codes_are_still_accepted_and_normalised(client, db_session):
    # README "Scope": 12-digit padded codes (331102003000) are stored in their significant form
    f.lishui(db_session)
    x0, y0, x1, y1 = f.BOXES[f.OTHER_STREET]
    rows = "code,name,parent,wkt\n" + \
        f"331102003000,新街道,331102000000,\"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))\"\n"
    response = _import(client, f.token_for(db_session, "admin"), rows.encode(), "street", "streets.csv")
    assert response.status_code == 200, response.get_json()
    assert db_session.scalar(text("SELECT count(*) FROM admin_unit WHERE code = '331102003'")) == 1


@pytest.mark.parametrize("code", BAD_GRID_CODES)
def test_the_database_refuses_a_grid_code_of_another_length(db_session, code):
    world = f.lishui(db_session)
    with pytest.raises(IntegrityError, match="ck_grid_code_digits"):
        with db_session.begin_nested():
            db_session.execute(text("INSERT INTO grid (code, name, community_id, kind) "
                                    "VALUES (:code, 'x', :community, 'out_of_area')"),
                               {"code": code, "community": world["community"].id})


@pytest.mark.parametrize("role, scope", [
    ("supervisor", "3311020"), ("supervisor", "3311020010011"), ("planner", "33110200100100"),
    ("grid_worker", f.COMMUNITY), ("grid_worker", "3311020010011"), ("grid_worker", ""),
])
def test_a_scope_that_is_no_whole_area_is_refused_by_the_database(db_session, role, scope):
    with pytest.raises(IntegrityError, match="ck_app_user_"):
        with db_session.begin_nested():
            db_session.add(User(username=f"bad-{role}-{scope}", password_hash="!", role=role, scope_code=scope))
            db_session.flush()


@pytest.mark.parametrize("role, scope", [
    ("supervisor", "3311020"), ("planner", "3311020010011"), ("grid_worker", f.STREET), ("admin", "33110200100111"),
])
def test_create_user_refuses_a_scope_that_is_no_whole_area(app, db_session, role, scope):
    from gridmap.auth.service import create_user

    with pytest.raises(BadRequest) as refused:
        create_user(db_session, "bad-scope", "pass-word-1", role, scope)
    assert refused.value.code == "invalid_scope" and "15 位" in refused.value.message
    result = app.test_cli_runner().invoke(
        args=["create-user", "bad-scope", "--role", role, "--scope", scope, "--password-stdin"], input="pass-word-1\n")
    assert result.exit_code != 0 and "管辖范围" in result.output, result.output
    assert db_session.scalar(select(func.count()).select_from(User).where(User.username == "bad-scope")) == 0


@pytest.mark.parametrize("role, scope", [("admin", ""), ("supervisor", "3311"), ("supervisor", f.DISTRICT),
                                         ("supervisor", f.STREET), ("planner", f.COMMUNITY),
                                         ("grid_worker", f.GRID_A)])
def test_whole_areas_are_accepted_as_scopes(db_session, role, scope):
    from gridmap.auth.service import create_user

    assert create_user(db_session, f"ok-{role}-{scope}", "pass-word-1", role, scope).scope_code == scope


def test_fixture_and_demo_codes_have_their_level_length():
    from pathlib import Path

    from gridmap.demo.load import DEMO_USERS

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "lishui_grids.geojson"
    codes = [feature["properties"]["编码"] for feature in json.loads(fixture.read_text("utf-8"))["features"]]
    assert codes and all(re.fullmatch(r"[0-9]{15}", c) for c in codes)
    from gridmap.auth.scope import valid_scope

    assert all(valid_scope(u.role, u.scope) for u in DEMO_USERS)


# --- 2. pages are declared like operations and show no more than the API ------------------------

# Each page and the API operation whose data it shows: the page may let in no role the API refuses.
PAGE_STANDS_FOR = {
    ("GET", "/hazards"): ("GET", "/hazards"),
    ("GET", "/hazards/new"): ("POST", "/hazards"),
    ("GET", "/hazards/<int:hazard_id>"): ("GET", "/hazards/<int:hazard_id>"),
    ("POST", "/hazards/<int:hazard_id>/actions"): ("POST", "/hazards/<int:hazard_id>/actions"),
    ("POST", "/hazards/<int:hazard_id>/photos"): ("POST", "/hazards/<int:hazard_id>/photos"),
    ("GET", "/maps/hazards"): ("GET", "/hazards/heatmap"),
    ("GET", "/reports/safety"): ("GET", "/reports/safety"),
    ("GET", "/reports/safety/trend"): ("GET", "/reports/safety/trend"),
    ("GET", "/patrol"): ("POST", "/checkins"),
    ("GET", "/party/visits"): ("POST", "/party-visits"),
    ("GET", "/maps/patrol"): ("GET", "/patrol/tracks"),
    ("GET", "/maps/area/<code>"): ("GET", "/grids"),
    ("GET", "/maps/grid/<code>"): ("GET", "/grids/<code>/households"),
    ("GET", "/maps/grid/<code>/print"): ("GET", "/grids/<code>/households"),
    ("POST", "/maps/grid/<code>/staff"): ("PUT", "/grids/<code>/staff"),
    ("GET", "/planner/<code>"): ("PUT", "/grids/<code>/geometry"),
    ("GET", "/department"): ("GET", "/department/queue"),
    ("POST", "/department/assignments/<int:assignment_id>/report"):
        ("POST", "/department/assignments/<int:assignment_id>/report"),
    ("POST", "/department/assignments/<int:assignment_id>/feedback"):
        ("POST", "/department/assignments/<int:assignment_id>/feedback"),
    ("POST", "/hazards/<int:hazard_id>/whistle"): ("POST", "/hazards/<int:hazard_id>/whistle"),
    ("GET", "/department-routes"): ("GET", "/department-routes"),
}


def _api_roles(method: str, path: str) -> set[str]:
    return next(set(op.roles) for op in OPERATIONS if op.method == method and op.path == "/api/v1" + path)


def test_every_page_lets_in_no_role_its_api_refuses():
    from gridmap.pages import PAGES
    from gridmap.site import page_blueprints

    page_blueprints()
    declared = {(m, p.path): set(p.roles) for p in PAGES for m in p.methods}
    for page, operation in PAGE_STANDS_FOR.items():
        assert declared[page] <= _api_roles(*operation), (page, operation)


# Who is refused (403, not a 404 that hides the rule, nor the page): the roles the API refuses.
REFUSED = [("party_member", "/hazards"), ("party_member", "/hazards/new"), ("planner", "/hazards/new"),
           ("party_member", "/maps/hazards"), ("grid_worker", "/reports/safety"), ("planner", "/reports/safety"),
           ("party_member", "/reports/safety"), ("grid_worker", "/reports/safety/trend"),
           ("party_member", "/reports/safety/trend"), ("party_member", f"/maps/area/{f.GRID_A}"),
           ("supervisor", f"/planner/{f.COMMUNITY}"), ("grid_worker", f"/planner/{f.COMMUNITY}"),
           ("party_member", "/maps/patrol"), ("planner", "/patrol")]


@pytest.fixture
def world(db_session):
    """Grid A with two households (one 社区矫正 only, one 孤寡老人 and 社区矫正), grid B with one,
    a party member of grid A looking after A1, and an open hazard in grid A."""
    from gridmap.hazards import service as hazards
    from gridmap.party import service as party

    grids = f.lishui(db_session)["grids"]
    f.household(db_session, "A1", 119.882, 28.455, grids[f.GRID_A], head_name="张三", phone="13800000001",
                tags=["社区矫正"])
    f.household(db_session, "A2", 119.886, 28.455, grids[f.GRID_A], head_name="李四", phone="13800000002",
                tags=["孤寡老人", "社区矫正"])
    f.household(db_session, "B1", 119.895, 28.455, grids[f.GRID_B], head_name="王五", phone="13800000003",
                tags=["孤寡老人"])
    db_session.commit()
    everything = Scope.everything()
    member = party.create_member(db_session, everything, {"name": "党员甲", "household_code": "A1"})["id"]
    party.set_contact(db_session, everything, member, "A1")
    hazards.report(db_session, everything, category="fire", severity="normal", description="楼道堆物HAZARD-TEXT",
                   lon=119.884, lat=28.456, crs=None)
    return {"member": member}


def _token(db_session, role: str, scope: str, world=None, **extra) -> str:
    if role == "party_member":
        extra["party_member_id"] = world["member"]
    return f.token_for(db_session, role, scope, **extra)


SCOPES = {"admin": "", "supervisor": f.DISTRICT, "planner": f.DISTRICT, "grid_worker": f.GRID_A,
          "party_member": f.GRID_A}


@pytest.mark.parametrize("role, url", REFUSED)
def test_a_page_refuses_a_role_the_api_refuses_with_403(client, db_session, world, role, url):
    token = _token(db_session, role, SCOPES[role], world)
    response = client.get(url, headers=f.auth(token))
    assert response.status_code == 403, (role, url, response.status_code)


def test_a_page_sends_a_visitor_without_login_to_the_login_page(client, db_session, world):
    response = client.get(f"/maps/grid/{f.GRID_A}?unmask=1")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/maps/grid/{f.GRID_A}?unmask%3D1"
    for path in ("/hazards", "/maps/patrol", f"/planner/{f.COMMUNITY}", "/admin/audit"):
        assert client.get(path).headers["Location"] == f"/login?next={path}", path


@pytest.mark.parametrize("url", ["/hazards/new?lon=abc&lat=28.4", "/maps/patrol?within=33x", "/hazards?status=nope",
                                 "/reports/safety?month=2026-13", f"/maps/grid/{f.GRID_A}?unmask=maybe"])
def test_a_page_parses_its_query_and_answers_400(client, db_session, world, url):
    token = _token(db_session, "admin", "")
    response = client.get(url, headers=f.auth(token))
    assert response.status_code == 400 and "请求参数不合法" in response.get_data(as_text=True), url


@pytest.mark.parametrize("url, service", [
    (f"/maps/grid/{f.GRID_A}", "gridmap.grid_sheet.service.grid_sheet"),
    (f"/maps/grid/{f.GRID_A}/print", "gridmap.grid_sheet.service.grid_sheet"),
    (f"/planner/{f.COMMUNITY}", "gridmap.planning.pages.editor_data"),
])
def test_a_code_outside_the_callers_area_is_404_before_the_page_runs(client, db_session, world, monkeypatch, url,
                                                                     service):
    def reached(*args, **kwargs):
        raise AssertionError("the page ran for an outsider")

    monkeypatch.setattr(service, reached)
    token = _token(db_session, "planner", f.OTHER_STREET)
    response = client.get(url, headers=f.auth(token))
    assert response.status_code == 404 and "未找到编码为" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", [f"/maps/grid/{f.GRID_A}", f"/maps/grid/{f.GRID_A}/wall",
                                  f"/maps/grid/{f.GRID_A}/print"])
def test_a_party_members_grid_pages_show_no_hazard(client, db_session, world, path):
    # GET /api/v1/hazards is not for party members; their 民情地图 must not carry hazards either
    member = _token(db_session, "party_member", f.GRID_A, world)
    assert client.get("/api/v1/hazards", headers=f.auth(member)).status_code == 403
    html = client.get(path, headers=f.auth(member)).get_data(as_text=True)
    assert "HAZARD-TEXT" not in html and "楼道堆物" not in html
    if path.endswith(f.GRID_A):  # the grid worker's own page does show it
        worker = _token(db_session, "grid_worker", f.GRID_A)
        assert "HAZARD-TEXT" in client.get(path, headers=f.auth(worker)).get_data(as_text=True)


VISIT_LISTS = {
    "/api/v1/patrol/coverage": lambda body: (
        [d for g in body["grids"] for d in g["due"]], body["required"], body["tags"]),
    "/api/v1/patrol/households?lon=119.884&lat=28.455": lambda body: (
        [{"code": h["code"], "tags": h["visit_tags"]} for h in body["items"] if h["visit_tags"]], None, None),
}


@pytest.mark.parametrize("url", sorted(VISIT_LISTS))
@pytest.mark.parametrize("role", ["supervisor", "planner"])
def test_the_visit_list_reveals_no_sensitive_tag_to_a_masked_role(client, db_session, world, url, role):
    if role == "planner" and "households" in url:
        pytest.skip("planners may not call /api/v1/patrol/households (403)")
    token = _token(db_session, role, f.STREET)
    response = client.get(url, headers=f.auth(token))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    # neither the tag nor 重点人员 (among the 五必访 tags it can only mean 社区矫正)
    assert "社区矫正" not in body and "重点人员" not in body
    due, required, tags = VISIT_LISTS[url](response.get_json())
    # A1 is due only for 社区矫正: listing it (or counting it) would say so
    assert {d["code"] for d in due} == {"A2", "B1"}
    assert all(d["tags"] == ["孤寡老人"] for d in due)
    if required is not None:
        assert required == 2 and "社区矫正" not in tags
    # the grid worker, who sees the grid unmasked, gets the whole list
    worker = client.get(url, headers=f.auth(_token(db_session, "grid_worker", f.GRID_A))).get_json()
    assert {d["code"] for d in VISIT_LISTS[url](worker)[0]} == {"A1", "A2"}


# --- 3. party-member contacts stay in the member's grid -----------------------------------------

def _put(client, token, member: int, household: str, **body):
    return client.put(f"/api/v1/party-members/{member}/households/{household}", json={"pinned": True, **body},
                      headers=f.auth(token))


def _contact_of(db_session, household: str):
    return db_session.scalar(text("SELECT pc.party_member_id FROM party_contact pc JOIN household h "
                                  "ON h.id = pc.household_id WHERE h.code = :c"), {"c": household})


def test_a_household_of_another_grid_needs_a_supervisors_cross_grid(client, db_session, world):
    member = world["member"]
    supervisor = _token(db_session, "supervisor", f.COMMUNITY)
    refused = _put(client, supervisor, member, "B1")
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "contact_outside_member_grid"
    assert "跨网格" in refused.get_json()["error"]["message"] and _contact_of(db_session, "B1") is None
    assert _put(client, supervisor, member, "B1", cross_grid=True).status_code == 200
    assert _contact_of(db_session, "B1") == member


@pytest.mark.parametrize("role, scope", [("grid_worker", f.GRID_A), ("grid_worker", f.GRID_B)])
def test_a_grid_worker_cannot_give_a_member_another_grids_household(client, db_session, world, role, scope):
    # grid A's worker cannot reach B1 (404), grid B's worker cannot reach the member (404); and
    # neither may say cross_grid (403), which only a supervisor or an admin may
    worker = _token(db_session, role, scope, username=f"worker-{scope}")
    assert _put(client, worker, world["member"], "B1").status_code == 404
    assert _put(client, worker, world["member"], "B1", cross_grid=True).status_code == 403
    assert _contact_of(db_session, "B1") is None


def test_a_grid_workers_cross_grid_flag_is_403(client, db_session, world):
    worker = _token(db_session, "grid_worker", f.GRID_A)
    response = _put(client, worker, world["member"], "A2", cross_grid=True)
    assert response.status_code == 403 and "督导" in response.get_json()["error"]["message"]
    assert _put(client, worker, world["member"], "A2").status_code == 200  # in the member's grid: as before


def test_masking_follows_the_households_grid(client, db_session, world):
    member = world["member"]
    assert _put(client, _token(db_session, "supervisor", f.COMMUNITY), member, "B1", cross_grid=True).status_code == 200
    url = f"/api/v1/party-members/{member}/households"
    worker = _token(db_session, "grid_worker", f.GRID_A)
    items = {i["code"]: i for i in client.get(url, headers=f.auth(worker)).get_json()["items"]}
    assert items["A1"]["head_name"] == "张三" and items["B1"]["head_name"] == "王*"
    assert items["B1"]["phone"] == "138****0003" and items["B1"]["masked"] is True
    logged = db_session.scalar(text("SELECT detail FROM audit_log WHERE actor_name = :n ORDER BY id DESC LIMIT 1"),
                               {"n": f"grid_worker-{f.GRID_A}"})
    assert logged["households"] == ["A1"]
    # the party member sees their own contacts, the other grid's too, as today
    own = client.get(url, headers=f.auth(_token(db_session, "party_member", f.GRID_A, world))).get_json()
    assert {i["code"]: i["head_name"] for i in own["items"]} == {"A1": "张三", "B1": "王五"}
    # B's own worker reaches the member's list only through their grid (member outside: 404)
    other = _token(db_session, "grid_worker", f.GRID_B, username="worker-b")
    assert client.get(url, headers=f.auth(other)).status_code == 404


def test_the_optimiser_counts_a_cross_grid_contact_against_capacity(client, db_session, world):
    member = world["member"]
    supervisor = _token(db_session, "supervisor", f.COMMUNITY)
    assert _put(client, supervisor, member, "B1", cross_grid=True).status_code == 200
    response = client.post(f"/api/v1/grids/{f.GRID_A}/party-contacts", json={"max_per_member": 2},
                           headers=f.auth(supervisor))
    assert response.status_code == 200, response.get_json()
    count = db_session.scalar(text("SELECT count(*) FROM party_contact WHERE party_member_id = :m"), {"m": member})
    assert count == 2  # A1 (pinned) + B1 (pinned, other grid); A2 stays uncovered
    assert response.get_json()["uncovered"] == ["A2"]


def test_openapi_documents_the_cross_grid_flag(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["components"]["schemas"]["ContactRequest"]["properties"]
    assert body["cross_grid"]["type"] == "boolean" and "督导" in body["cross_grid"]["description"]
    operation = spec["paths"]["/api/v1/party-members/{member_id}/households/{household_code}"]["put"]
    assert {"403", "422"} <= set(operation["responses"])
