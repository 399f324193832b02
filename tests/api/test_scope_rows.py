"""Scope, row by row, for reads: every GET operation on one grid or one object (hazard,
photo, party member) answers 404 to a user whose scope does not cover it — a grid worker
of the neighbouring grid, a supervisor or planner of another street — and an insider is
let in; every read declared ``area/own-contacts`` shows a party member only themself and
the households they look after, and every one declared ``area/own-records`` shows a grid
worker only their own check-ins; every other read under an area rule shows an outsider
nothing of the area; a ``<code>`` in the path is refused by the operation itself, before
its handler runs (writes: test_scope_writes.py); and every page with a ``<code>`` (gridmap.pages)
answers an outsider 404 the same way."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from gridmap.api import api_blueprints
from gridmap.apidoc import OPERATIONS
from gridmap.pages import PAGES
from gridmap.site import page_blueprints
from tests import factories as f

api_blueprints()
page_blueprints()
# (a grid's object named by id too, such as a handover, is an ID_PATHS case)
GRID_PATHS = sorted({op.path for op in OPERATIONS if op.method == "GET" and "<code>" in op.path and "<int:" not in op.path})
OUTSIDERS = [("grid_worker", f.GRID_B), ("supervisor", f.OTHER_STREET), ("planner", f.OTHER_STREET)]


def _allowed(path: str, role: str) -> bool:
    return any(op.path == path and op.method == "GET" and role in op.roles for op in OPERATIONS)


@pytest.mark.parametrize("path", GRID_PATHS)
@pytest.mark.parametrize("role, scope", OUTSIDERS)
def test_a_grid_outside_the_callers_scope_is_404(client, db_session, path, role, scope):
    if not _allowed(path, role):
        pytest.skip(f"{role} may not call {path} at all (403, see test_access_control)")
    f.lishui(db_session)
    token = f.token_for(db_session, role, scope)
    response = client.get(re.sub(r"<code>", f.GRID_A, path), headers=f.auth(token))
    assert response.status_code == 404, (path, role, response.status_code)


@pytest.mark.parametrize("path", GRID_PATHS)
def test_the_grids_own_worker_is_let_in(client, db_session, path):
    if not _allowed(path, "grid_worker"):
        pytest.skip("not a grid worker's operation")
    f.lishui(db_session)
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    response = client.get(re.sub(r"<code>", f.GRID_A, path), headers=f.auth(token))
    assert response.status_code == 200, (path, response.status_code)


LISTS = ["/api/v1/grids", "/api/v1/hazards", "/api/v1/checkins", "/api/v1/households/outside-grids",
         "/api/v1/household-changes", "/api/v1/party-visits"]


@pytest.mark.parametrize("path", LISTS)
def test_a_within_filter_outside_the_scope_lists_nothing(client, db_session, path):
    f.lishui(db_session)
    token = f.token_for(db_session, "supervisor", f.STREET)
    response = client.get(path, query_string={"within": f.OTHER_STREET}, headers=f.auth(token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == 0 and not body.get("items") and not body.get("features")


# --- objects named by id, and what each read declares (gridmap.auth.scope.RULES) ----------------

def _objects(db_session) -> dict[str, str]:
    """A hazard (with a photo), two party members and their contacts in grid A, each visited once."""
    import uuid
    from datetime import UTC, datetime

    from gridmap.auth.scope import Scope
    from gridmap.config import Settings
    from gridmap.handover import service as handovers
    from gridmap.hazards import photos, service as hazards
    from gridmap.party import service as party
    from gridmap.party import visits
    from gridmap.patrol_plan import service as patrol_plans

    grids = f.lishui(db_session)["grids"]
    f.household(db_session, "A1", 119.882, 28.455, grids[f.GRID_A], head_name="张三", phone="13800000001",
                tags=["社区矫正"])
    f.household(db_session, "A2", 119.886, 28.455, grids[f.GRID_A], head_name="李四", phone="13800000002",
                tags=["孤寡老人"])
    db_session.commit()
    everything = Scope.everything()
    mine = party.create_member(db_session, everything, {"name": "党员甲", "household_code": "A1"})["id"]
    other = party.create_member(db_session, everything, {"name": "党员乙", "household_code": "A2"})["id"]
    party.set_contact(db_session, everything, mine, "A1")
    party.set_contact(db_session, everything, other, "A2")
    for member, code in ((mine, "A1"), (other, "A2")):
        visits.record_visit(db_session, Scope(prefix=f.GRID_A, role="party_member", party_member_id=member),
                            client_id=uuid.uuid4(), household_code=code, note="走访", visited_at=datetime.now(UTC))
    hazard = hazards.report(db_session, everything, category="fire", severity="normal", description="消防通道堵塞",
                            lon=119.886, lat=28.456, crs=None)["id"]
    photos.add_photos(db_session, everything, hazard, [f.png()], photos.PhotoLimits.of(Settings()))
    from gridmap.departments import service as departments

    hazards.act(db_session, everything, hazard, "accept")
    f.department_token(db_session, "xiaofang", f.STREET, username="on-duty")  # a 消防 user of grid A's street: someone to 报到
    departments.whistle(db_session, everything, hazard, note="", default_days=1)  # to 消防 (seeded rule)
    assignment = db_session.scalar(text("SELECT id FROM hazard_assignment WHERE hazard_id = :h"), {"h": hazard})
    patrol_plans.set_plan(db_session, everything, {"subject": "grid", "code": f.GRID_A, "place_id": None,
                                                   "period": "day", "min_count": 1})
    handover = handovers.create(db_session, everything, f.GRID_A, visit_tags=("孤寡老人",))["id"]
    return {"hazard_id": str(hazard), "n": "1", "member_id": str(mine), "other_member": str(other),
            "handover_id": str(handover), "assignment_id": str(assignment)}


ID_PATHS = sorted({op.path for op in OPERATIONS if op.method == "GET" and "<int:" in op.path
                   and not op.path.startswith("/tiles/")})


@pytest.mark.parametrize("path", ID_PATHS)
@pytest.mark.parametrize("role, scope", OUTSIDERS)
def test_an_object_outside_the_callers_scope_is_404(client, db_session, path, role, scope):
    if not _allowed(path, role):
        pytest.skip(f"{role} may not call {path} at all (403, see test_access_control)")
    ids = _objects(db_session)
    url = re.sub(r"<int:([a-z_]+)>", lambda m: ids[m.group(1)], path).replace("<code>", f.GRID_A)
    insider = f.token_for(db_session, role, f.GRID_A if role == "grid_worker" else f.STREET, username="insider")
    assert client.get(url, headers=f.auth(insider)).status_code == 200, url  # the object is there
    token = f.token_for(db_session, role, scope)
    response = client.get(url, headers=f.auth(token))
    assert response.status_code == 404, (url, role, response.status_code)


HOUSEHOLD_PATHS = sorted({op.path for op in OPERATIONS if op.method == "GET" and "<household:household_code>" in op.path})


@pytest.mark.parametrize("path", HOUSEHOLD_PATHS)
@pytest.mark.parametrize("role, scope", OUTSIDERS)
def test_a_household_outside_the_callers_scope_is_404(client, db_session, path, role, scope):
    if not _allowed(path, role):
        pytest.skip(f"{role} may not call {path} at all (403, see test_access_control)")
    _objects(db_session)
    url = path.replace("<household:household_code>", "A1")
    insider = f.token_for(db_session, role, f.GRID_A if role == "grid_worker" else f.STREET, username="insider")
    assert client.get(url, headers=f.auth(insider)).status_code == 200, url  # the household is there
    response = client.get(url, headers=f.auth(f.token_for(db_session, role, scope)))
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "household_not_found"), url


def _codes(body) -> set[str]:
    return {i["code"] for i in body["items"]}


# Per read a party member may make under ``area/own-contacts``: what shows them only their own.
OWN_CONTACT_READS = {
    "/api/v1/grids/<code>/households": lambda get, ids: _codes(get(f"/api/v1/grids/{f.GRID_A}/households")) == {"A1"},
    "/api/v1/grids/<code>/party-members": lambda get, ids: {
        str(i["id"]) for i in get(f"/api/v1/grids/{f.GRID_A}/party-members")["items"]} == {ids["member_id"]},
    "/api/v1/party-members/<int:member_id>": lambda get, ids: (
        get(f"/api/v1/party-members/{ids['member_id']}")["name"] == "党员甲"
        and get(f"/api/v1/party-members/{ids['other_member']}", status=404)),
    "/api/v1/party-members/<int:member_id>/households": lambda get, ids: (
        _codes(get(f"/api/v1/party-members/{ids['member_id']}/households")) == {"A1"}
        and get(f"/api/v1/party-members/{ids['other_member']}/households", status=404)),
    "/api/v1/party-visits": lambda get, ids: {i["household"] for i in get("/api/v1/party-visits")["items"]} == {"A1"},
    # the inbox: a party member's only section is their own contacts due a visit (A1, visited)
    "/api/v1/inbox": lambda get, ids: [s["kind"] for s in get("/api/v1/inbox")["sections"]] == ["visits_due"]
    and not {i["household"] for s in get("/api/v1/inbox")["sections"] for i in s["items"]} - {"A1"},
    "/api/v1/inbox/count": lambda get, ids: get("/api/v1/inbox/count") == {"total": 0, "sections": {"visits_due": 0}},
    # hole found: every due household of the grid (address and 五必访 tags) showed
    "/api/v1/patrol/coverage": lambda get, ids: [
        {d["code"] for d in g["due"]} for g in get("/api/v1/patrol/coverage")["grids"]] == [{"A1"}],
}


def test_every_own_contacts_read_has_a_party_member_case():
    declared = {op.path for op in OPERATIONS if op.method == "GET" and op.scope == "area/own-contacts"}
    assert declared == set(OWN_CONTACT_READS)


@pytest.mark.parametrize("path", sorted(OWN_CONTACT_READS))
def test_a_party_member_reads_only_their_own_contacts(client, db_session, path):
    ids = _objects(db_session)
    token = f.token_for(db_session, "party_member", f.GRID_A, party_member_id=int(ids["member_id"]))

    def get(url, status=200):
        response = client.get(url, headers=f.auth(token))
        assert response.status_code == status, (url, response.get_json())
        return response.get_json()

    assert OWN_CONTACT_READS[path](get, ids)


def _checkin(client, token, lon=119.884):
    import uuid
    from datetime import UTC, datetime

    body = {"id": str(uuid.uuid4()), "lon": lon, "lat": 28.455, "accuracy_m": 10,
            "recorded_at": datetime.now(UTC).isoformat()}
    assert client.post("/api/v1/checkins", json=body, headers=f.auth(token)).status_code == 201


OWN_RECORD_READS = {"/api/v1/checkins": lambda body: {p["properties"]["user"] for p in body["features"]},
                    "/api/v1/patrol/tracks": lambda body: {i["user"] for i in body["items"]}}


def test_every_own_records_read_has_a_case():
    declared = {op.path for op in OPERATIONS if op.method == "GET" and op.scope == "area/own-records"}
    assert declared == set(OWN_RECORD_READS)


@pytest.mark.parametrize("path", sorted(OWN_RECORD_READS))
def test_a_grid_worker_reads_only_their_own_records(client, db_session, path):
    f.lishui(db_session)
    me = f.token_for(db_session, "grid_worker", f.GRID_A, username="worker-me")
    colleague = f.token_for(db_session, "grid_worker", f.GRID_A, username="worker-colleague")
    _checkin(client, me)
    _checkin(client, colleague, lon=119.886)
    users = OWN_RECORD_READS[path]
    assert users(client.get(path, headers=f.auth(me)).get_json()) == {"worker-me"}
    supervisor = f.token_for(db_session, "supervisor", f.COMMUNITY)
    assert users(client.get(path, headers=f.auth(supervisor)).get_json()) == {"worker-me", "worker-colleague"}


# --- area reads that are neither a grid's, an object's nor a list's -------------------------------

# Per read: its query, and what in the answer shows grid A's data (a hazard, household A1).
AREA_READS = {
    "/api/v1/areas": ({}, lambda body: f.STREET in _codes(body)),
    "/api/v1/locate": ({"lon": 119.882, "lat": 28.455}, lambda body: f.GRID_A in str(body)),
    "/api/v1/hazards/duplicates": ({"category": "fire", "lon": 119.886, "lat": 28.456},
                                   lambda body: bool(body["items"])),
    "/api/v1/hazards/grid-density": ({}, lambda body: f.GRID_A in str(body)),
    "/api/v1/hazards/heatmap": ({"bbox": "119.80,28.40,120.00,28.50", "zoom": 13}, lambda body: body["total"] > 0),
    "/api/v1/patrol/households": ({"lon": 119.882, "lat": 28.455}, lambda body: "A1" in _codes(body)),
    "/api/v1/patrol-plans": ({}, lambda body: f.GRID_A in _codes(body)),
    "/api/v1/patrol-plans/behind": ({}, lambda body: f.GRID_A in {i["grid"] for i in body["items"]}),
    "/api/v1/reports/safety": ({}, lambda body: f.COMMUNITY in str(body)),
    "/api/v1/addresses": ({"q": "中山街A1号"}, lambda body: f.GRID_A in str(body)),
    "/api/v1/reports/safety/trend": ({"count": 1}, lambda body: f.COMMUNITY in str(body)),
    "/api/v1/reports/departments": ({}, lambda body: [i["code"] for i in body["items"]] == ["xiaofang"]),
}


# Reads declared ``area/department``: per read, the URL (from the objects' ids) and what shows grid A's
# item whistled to 消防. Outsiders: 消防 of another street, and 派出所 (another department) of the district.
DEPARTMENT_READS = {
    "/api/v1/department/queue": (lambda ids: "/api/v1/department/queue",
                                 lambda r: r.status_code == 200 and bool(r.get_json()["items"])),
    "/api/v1/department/assignments/<int:assignment_id>/photos/<int:n>": (
        lambda ids: f"/api/v1/department/assignments/{ids['assignment_id']}/photos/1",
        lambda r: r.status_code == 200 and r.data[:4] == b"\x89PNG"),
}


def test_every_department_read_has_a_case():
    declared = {op.path for op in OPERATIONS if op.method == "GET" and op.scope == "area/department"}
    assert declared == set(DEPARTMENT_READS)


@pytest.mark.parametrize("path", sorted(DEPARTMENT_READS))
def test_a_department_reads_only_its_own_items_in_its_area(client, db_session, path):
    ids = _objects(db_session)
    url, shows = DEPARTMENT_READS[path]
    insider = f.department_token(db_session, "xiaofang", f.STREET)
    assert shows(client.get(url(ids), headers=f.auth(insider))), path
    for token in (f.department_token(db_session, "xiaofang", f.OTHER_STREET),
                  f.department_token(db_session, "paichusuo", f.DISTRICT)):
        response = client.get(url(ids), headers=f.auth(token))
        assert response.status_code in (200, 404) and not shows(response), path


# OGC API – Features (/ogc): per declared read, URLs that show grid A's data to an insider.
OGC_READS = {
    "/ogc/collections/<collection_id>/items": [f"/ogc/collections/{c}/items" for c in ("streets", "communities", "grids")],
    "/ogc/collections/<collection_id>/items/<feature_id>": [
        f"/ogc/collections/streets/items/{f.STREET}", f"/ogc/collections/communities/items/{f.COMMUNITY}",
        f"/ogc/collections/grids/items/{f.GRID_A}"],
    "/ogc/collections/hazards/items": ["/ogc/collections/hazards/items"],
}
_GRID_A_DATA = (f.GRID_A, f.COMMUNITY, f.STREET + '"')


@pytest.mark.parametrize("url", [url for urls in OGC_READS.values() for url in urls])
def test_an_ogc_read_shows_an_outsider_nothing_of_the_area(client, db_session, url):
    _objects(db_session)
    insider = f.token_for(db_session, "supervisor", f.STREET, username="ogc-insider")
    response = client.get(url, headers=f.auth(insider))
    assert response.status_code == 200 and any(c in response.get_data(as_text=True) for c in _GRID_A_DATA), url
    for role, scope in OUTSIDERS:
        token = f.token_for(db_session, role, scope, username=f"ogc-outsider-{role}")
        response = client.get(url, headers=f.auth(token))
        assert response.status_code in (200, 404), (url, role, response.status_code)
        # a 404 repeats only the code asked for; a 200 holds none of grid A's (a grid worker of grid B
        # sees their own grid's community and street)
        assert response.status_code == 404 or not any(
            c in response.get_data(as_text=True) for c in _GRID_A_DATA
            if not (role == "grid_worker" and c != f.GRID_A)), (url, role)


# Binary reads: the vector tile over grid A (z14 at 119.885, 28.455; gridmap.tiles).
TILE_READS = {"/tiles/<layer>/<int:z>/<int:x>/<int:y>.pbf": "/tiles/grids/14/13648/6840.pbf"}


def _tile_codes(response) -> set[str]:
    import mapbox_vector_tile

    assert response.status_code == 200, response.get_data()
    tile = mapbox_vector_tile.decode(response.data) if response.data else {}
    return {feat["properties"]["code"] for feat in tile.get("grids", {}).get("features", [])}


@pytest.mark.parametrize("path", sorted(TILE_READS))
def test_a_tile_shows_an_outsider_nothing_of_the_area(client, db_session, path):
    f.lishui(db_session)
    insider = f.token_for(db_session, "supervisor", f.STREET, username="insider")
    assert f.GRID_A in _tile_codes(client.get(TILE_READS[path], headers=f.auth(insider)))
    for role, scope in OUTSIDERS:
        token = f.token_for(db_session, role, scope, username=f"outsider-{role}")
        assert f.GRID_A not in _tile_codes(client.get(TILE_READS[path], headers=f.auth(token))), role


def test_every_area_read_has_an_outsider_case():
    covered = set(GRID_PATHS) | set(ID_PATHS) | set(LISTS) | set(OWN_CONTACT_READS) | set(OWN_RECORD_READS)
    covered |= set(OGC_READS) | set(TILE_READS) | set(HOUSEHOLD_PATHS) | set(DEPARTMENT_READS)
    declared = {op.path for op in OPERATIONS if op.method == "GET" and op.scope.startswith("area")}
    assert ID_PATHS and declared - covered == set(AREA_READS)


@pytest.mark.parametrize("path", sorted(AREA_READS))
def test_an_area_read_shows_an_outsider_nothing_of_the_area(client, db_session, path):
    _objects(db_session)
    query, shows_grid_a = AREA_READS[path]
    insider = client.get(path, query_string=query, headers=f.auth(f.token_for(db_session, "supervisor", f.STREET)))
    assert insider.status_code == 200 and shows_grid_a(insider.get_json()), (path, insider.get_json())
    for role in ("supervisor", "planner"):
        if not _allowed(path, role):
            continue
        token = f.token_for(db_session, role, f.OTHER_STREET, username=f"outsider-{role}")
        response = client.get(path, query_string=query, headers=f.auth(token))
        # refused (a location outside the caller's area), or answered without grid A's data
        assert response.status_code in (200, 404, 422), (path, role, response.status_code)
        assert response.status_code != 200 or not shows_grid_a(response.get_json()), (path, role, response.get_json())


@pytest.mark.parametrize("path, service, not_found", [
    (f"/api/v1/grids/{f.GRID_A}", "gridmap.areas.service.grid_detail", "grid_not_found"),
    (f"/api/v1/communities/{f.COMMUNITY}/grids/preview", "gridmap.planning.reshape.preview_new", "area_not_found"),
])
def test_a_code_in_the_path_is_checked_before_the_handler_runs(client, db_session, monkeypatch, path, service,
                                                               not_found):
    # the services check the scope too; this is the operation's own check, with a handler that does not
    f.lishui(db_session)
    monkeypatch.setattr(service, lambda *args, **kwargs: {"reached": True})
    square = {"type": "Polygon", "coordinates": [[[119.881, 28.451], [119.882, 28.451], [119.882, 28.452],
                                                   [119.881, 28.451]]]}
    method = client.post if path.endswith("/preview") else client.get
    insider = f.token_for(db_session, "planner", f.STREET, username="planner-in")
    outsider = f.token_for(db_session, "planner", f.OTHER_STREET, username="planner-out")
    assert method(path, json={"geometry": square}, headers=f.auth(insider)).get_json() == {"reached": True}
    response = method(path, json={"geometry": square}, headers=f.auth(outsider))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == not_found


# --- pages (gridmap.pages): a <code> outside the caller's area is the same 404 -----------------

PAGE_CODE_CASES = sorted((m, p.path) for p in PAGES for m in p.methods if "<code>" in p.path)


def _page_code(path: str) -> str:
    """The area each page names: a community for the planner, a grid elsewhere."""
    return f.COMMUNITY if path.startswith("/planner/") else f.GRID_A


def _page_allows(path: str, role: str) -> bool:
    return any(p.path == path and role in p.roles for p in PAGES)


def test_every_page_with_a_code_has_its_outsider_case():
    assert len(PAGE_CODE_CASES) == 11 and all(p.scope.startswith("area") for p in PAGES if "<code>" in p.path)


@pytest.mark.parametrize("method, path", PAGE_CODE_CASES)
@pytest.mark.parametrize("role, scope", OUTSIDERS)
def test_a_page_for_an_area_outside_the_callers_scope_is_404(client, db_session, method, path, role, scope):
    if not _page_allows(path, role):
        pytest.skip(f"{role} may not open {path} at all (403, see test_access_control)")
    f.lishui(db_session)
    token = f.token_for(db_session, role, scope)
    url = re.sub(r"<int:[a-z_]+>", "1", path.replace("<code>", _page_code(path)))
    response = client.open(url, method=method, headers=f.auth(token))
    assert response.status_code == 404, (path, role, response.status_code)
    assert "未找到编码为" in response.get_data(as_text=True)  # the 404 page names no more than the code
