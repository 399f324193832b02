"""Scope, row by row, for reads: every GET operation on one grid or one object (hazard,
photo, party member) answers 404 to a user whose scope does not cover it — a grid worker
of the neighbouring grid, a supervisor or planner of another street — and an insider is
let in; every read declared ``area/own-contacts`` shows a party member only themself and
the households they look after, and every one declared ``area/own-records`` shows a grid
worker only their own check-ins (writes: test_scope_writes.py)."""

from __future__ import annotations

import re

import pytest

from gridmap.api import api_blueprints
from gridmap.apidoc import OPERATIONS
from tests import factories as f

api_blueprints()
GRID_PATHS = sorted({op.path for op in OPERATIONS if op.method == "GET" and "<code>" in op.path})
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


LISTS = ["/api/v1/grids", "/api/v1/hazards", "/api/v1/checkins", "/api/v1/households/outside-grids"]


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
    """A hazard (with a photo), two party members and their contacts in grid A."""
    from gridmap.auth.scope import Scope
    from gridmap.hazards import photos, service as hazards
    from gridmap.party import service as party

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
    hazard = hazards.report(db_session, everything, category="fire", severity="normal", description="消防通道堵塞",
                            lon=119.886, lat=28.456, crs=None)["id"]
    photos.add_photos(db_session, everything, hazard, [f.png()])
    return {"hazard_id": str(hazard), "n": "1", "member_id": str(mine), "other_member": str(other)}


ID_PATHS = sorted({op.path for op in OPERATIONS if op.method == "GET" and "<int:" in op.path})


@pytest.mark.parametrize("path", ID_PATHS)
@pytest.mark.parametrize("role, scope", OUTSIDERS)
def test_an_object_outside_the_callers_scope_is_404(client, db_session, path, role, scope):
    if not _allowed(path, role):
        pytest.skip(f"{role} may not call {path} at all (403, see test_access_control)")
    ids = _objects(db_session)
    url = re.sub(r"<int:([a-z_]+)>", lambda m: ids[m.group(1)], path)
    insider = f.token_for(db_session, role, f.GRID_A if role == "grid_worker" else f.STREET, username="insider")
    assert client.get(url, headers=f.auth(insider)).status_code == 200, url  # the object is there
    token = f.token_for(db_session, role, scope)
    response = client.get(url, headers=f.auth(token))
    assert response.status_code == 404, (url, role, response.status_code)


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
