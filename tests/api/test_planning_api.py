"""Planning through the HTTP contract: preview, save with versions, split, merge, revert."""

from __future__ import annotations

import pytest
from pyproj import Geod
from shapely.geometry import box, mapping
from sqlalchemy import select, text

from gridmap.areas.models import Grid, GridVersion
from gridmap.auth.scope import Scope
from gridmap.hazards import service as hazards
from gridmap.hazards.models import Hazard
from gridmap.households.models import Household
from gridmap.party.models import PartyContact, PartyMember
from tests import factories as f

GEOD = Geod(ellps="WGS84")


def geodesic_area(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def poly(*bounds) -> dict:
    return mapping(box(*bounds))


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    grids = w["grids"]
    # Hand-placed households: two in A, two in B, one in the community outside any grid.
    w["homes"] = {
        "A1": f.household(db_session, "A1", 119.882, 28.455, grids[f.GRID_A]),
        "A2": f.household(db_session, "A2", 119.888, 28.455, grids[f.GRID_A]),
        "B1": f.household(db_session, "B1", 119.892, 28.455, grids[f.GRID_B]),
        "B2": f.household(db_session, "B2", 119.898, 28.455, grids[f.GRID_B]),
        "X1": f.household(db_session, "X1", 119.875, 28.455, None),
    }
    db_session.commit()
    return w


@pytest.fixture
def planner(db_session, world):
    return f.auth(f.token_for(db_session, "planner", f.COMMUNITY))


def test_preview_matches_a_hand_count_and_writes_nothing(client, db_session, world, planner):
    proposed = box(119.874, 28.450, 119.887, 28.460)  # takes in X1, gives up A2
    response = client.post(f"/api/v1/grids/{f.GRID_A}/preview", json={"geometry": mapping(proposed)},
                           headers=planner)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["households_before"], body["households_after"]) == (2, 2)
    assert (body["moved_in"], body["moved_out"]) == (1, 1)
    assert (body["moved_in_codes"], body["moved_out_codes"]) == (["X1"], ["A2"])
    assert body["overlaps"] == []
    assert body["within_target"] is False  # 2 households, target 300–500
    community = box(*f.BOXES[f.COMMUNITY])
    expected_gap = geodesic_area(community.difference(proposed.union(box(*f.BOXES[f.GRID_B]))))
    assert body["gap_area_m2"] == pytest.approx(expected_gap, rel=1e-3)
    counts = {g["code"]: g["households"] for g in body["grids"]}
    assert counts == {f.GRID_A: 2, f.GRID_B: 2}
    # Nothing written.
    assert db_session.scalar(select(Grid.version).where(Grid.code == f.GRID_A)) == 1
    assert db_session.scalar(select(Household.grid_id).where(Household.code == "X1")) is None


def test_a_moved_out_household_never_moves_in(client, db_session, world, planner):
    """A household marked moved out keeps its last point but belongs to no grid: a boundary drawn
    over it takes nobody in (re-assignment would not move it either)."""
    db_session.execute(text("UPDATE household SET status = 'moved_out', grid_id = NULL WHERE code = 'X1'"))
    db_session.commit()
    proposed = box(119.874, 28.450, 119.887, 28.460)  # takes in X1's point, gives up A2
    body = client.post(f"/api/v1/grids/{f.GRID_A}/preview", json={"geometry": mapping(proposed)},
                       headers=planner).get_json()
    assert (body["moved_in"], body["moved_in_codes"], body["moved_out_codes"]) == (0, [], ["A2"])


def test_preview_reports_overlap_in_square_metres_and_households_taken_from_a_neighbour(
        client, world, planner):
    proposed = box(119.880, 28.450, 119.893, 28.460)  # reaches 0.003° into B, over B1
    body = client.post(f"/api/v1/grids/{f.GRID_A}/preview", json={"geometry": mapping(proposed)},
                       headers=planner).get_json()
    expected = geodesic_area(box(119.890, 28.450, 119.893, 28.460))
    assert [o["code"] for o in body["overlaps"]] == [f.GRID_B]
    assert body["overlaps"][0]["area_m2"] == pytest.approx(expected, rel=1e-3)
    assert (body["moved_in"], body["moved_in_codes"], body["moved_in_from"]) == (1, ["B1"], {f.GRID_B: 1})
    assert {g["code"]: g["households"] for g in body["grids"]} == {f.GRID_A: 3, f.GRID_B: 1}


def test_preview_in_gcj02_and_bad_geometry(client, world, planner):
    bowtie = {"type": "Polygon", "coordinates": [[[119.88, 28.45], [119.89, 28.46], [119.89, 28.45],
                                                  [119.88, 28.46], [119.88, 28.45]]]}
    response = client.post(f"/api/v1/grids/{f.GRID_A}/preview", json={"geometry": bowtie}, headers=planner)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "self_intersection"
    assert "自相交" in response.get_json()["error"]["message"]
    line = {"type": "LineString", "coordinates": [[119.88, 28.45], [119.89, 28.46]]}
    assert client.post(f"/api/v1/grids/{f.GRID_A}/preview", json={"geometry": line},
                       headers=planner).status_code == 422
    assert client.post(f"/api/v1/grids/{f.GRID_A}/preview", json={"geometry": poly(119.88, 28.45, 119.89, 28.46),
                                                                 "crs": "EPSG:999999"}, headers=planner).status_code == 422
    assert client.post(f"/api/v1/grids/{f.GRID_C}/preview", json={"geometry": poly(119.88, 28.45, 119.89, 28.46)},
                       headers=planner).status_code == 404  # outside the planner's scope


def test_preview_needs_planner_role(client, db_session, world):
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    response = client.post(f"/api/v1/grids/{f.GRID_A}/preview",
                           json={"geometry": poly(119.88, 28.45, 119.89, 28.46)}, headers=worker)
    assert response.status_code == 403


def _contact(db_session, home: Household) -> PartyContact:
    member = PartyMember(name="王党员", phone="13800000000", grid_id=home.grid_id)
    db_session.add(member)
    db_session.flush()
    contact = PartyContact(household_id=home.id, party_member_id=member.id)
    db_session.add(contact)
    db_session.commit()
    return contact


def test_save_makes_a_new_version_moves_households_and_marks_contacts(client, db_session, world, planner):
    homes = world["homes"]
    moved_contact = _contact(db_session, homes["A2"])
    kept_contact = _contact(db_session, homes["A1"])
    hazard = hazards.report(db_session, Scope.everything(), category="fire", severity="normal",
                            description="楼道堆物", lon=119.888, lat=28.455, crs=None)
    proposed = mapping(box(119.874, 28.450, 119.887, 28.460))
    response = client.put(f"/api/v1/grids/{f.GRID_A}/geometry",
                          json={"geometry": proposed, "version": 1, "reason": "新建小区并入"}, headers=planner)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["version"], body["households"], body["households_moved"]) == (2, 2, 2)
    db_session.expire_all()
    grid_a = db_session.scalar(select(Grid).where(Grid.code == f.GRID_A))
    by_code = dict(db_session.execute(select(Household.code, Household.grid_id)).all())
    assert by_code["X1"] == grid_a.id and by_code["A2"] is None and by_code["A1"] == grid_a.id
    rows = db_session.execute(select(GridVersion.version, GridVersion.valid_to, GridVersion.reason)
                              .where(GridVersion.grid_id == grid_a.id).order_by(GridVersion.version)).all()
    assert [r.version for r in rows] == [1, 2]
    assert rows[0].valid_to is not None and rows[1].valid_to is None and rows[1].reason == "新建小区并入"
    assert db_session.get(PartyContact, moved_contact.household_id).needs_review is True
    assert db_session.get(PartyContact, kept_contact.household_id).needs_review is False
    # The hazard keeps the grid version it was reported under.
    assert db_session.scalar(select(Hazard.grid_version).where(Hazard.id == hazard["id"])) == 1


def test_stale_version_is_409_with_the_other_change(client, world, planner):
    first = client.put(f"/api/v1/grids/{f.GRID_A}/geometry",
                       json={"geometry": poly(119.881, 28.450, 119.890, 28.460), "version": 1, "reason": "甲"},
                       headers=planner)
    assert first.status_code == 200
    second = client.put(f"/api/v1/grids/{f.GRID_A}/geometry",
                        json={"geometry": poly(119.879, 28.450, 119.890, 28.460), "version": 1, "reason": "乙"},
                        headers=planner)
    assert second.status_code == 409
    error = second.get_json()["error"]
    assert error["code"] == "grid_version_stale"
    assert error["details"]["current_version"] == 2
    assert error["details"]["current"]["reason"] == "甲"
    assert error["details"]["current"]["geometry"]["type"] == "MultiPolygon"


def test_topology_rules(client, world, planner):
    url = f"/api/v1/grids/{f.GRID_A}/geometry"
    # Beyond the community by ~100 m: refused.
    outside = client.put(url, json={"geometry": poly(119.869, 28.450, 119.890, 28.460), "version": 1,
                                    "reason": "扩大"}, headers=planner)
    assert outside.status_code == 422 and outside.get_json()["error"]["code"] == "grid_outside_community"
    # Beyond it by ~0.5 m (within the 1 m tolerance): accepted.
    near = client.put(url, json={"geometry": poly(119.869995, 28.450, 119.890, 28.460), "version": 1,
                                 "reason": "贴边"}, headers=planner)
    assert near.status_code == 200, near.get_json()
    # Overlapping B: refused unless forced with a reason.
    overlap = {"geometry": poly(119.880, 28.450, 119.893, 28.460), "version": 2, "reason": "重叠"}
    refused = client.put(url, json=overlap, headers=planner)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "grid_overlaps_sibling"
    forced = client.put(url, json={**overlap, "force": True}, headers=planner)
    assert forced.status_code == 200 and forced.get_json()["forced"] is True
    no_reason = client.put(url, json={"geometry": poly(119.880, 28.450, 119.890, 28.460), "version": 3,
                                      "reason": " "}, headers=planner)
    # The document states it (minLength 1, a non-blank pattern): a 400 naming the field.
    assert no_reason.status_code == 400 and no_reason.get_json()["error"]["code"] == "validation_failed"
    assert [e["field"] for e in no_reason.get_json()["error"]["details"]["errors"]] == ["reason"]


def _codes(client, headers) -> list[str]:
    features = client.get(f"/api/v1/grids?within={f.COMMUNITY}", headers=headers).get_json()["features"]
    return [g["properties"]["code"] for g in features]


def test_split_allocates_the_next_free_code_and_moves_households(client, db_session, world, planner):
    line = {"type": "LineString", "coordinates": [[119.886, 28.449], [119.886, 28.461]]}
    response = client.post(f"/api/v1/grids/{f.GRID_A}/split", json={"line": line, "reason": "户数超标"},
                           headers=planner)
    assert response.status_code == 200, response.get_json()
    kept, new = response.get_json()["grids"]
    assert (kept["code"], kept["version"], kept["households"]) == (f.GRID_A, 2, 1)
    assert (new["code"], new["version"], new["households"], new["name"]) == (
        f.COMMUNITY + "003", 1, 1, "城北社区第3网格")
    assert db_session.scalar(select(Grid.code).join(Household, Household.grid_id == Grid.id)
                             .where(Household.code == "A2")) == f.COMMUNITY + "003"
    again = client.post(f"/api/v1/grids/{f.GRID_B}/split", json={
        "line": {"type": "LineString", "coordinates": [[119.895, 28.449], [119.895, 28.461]]}}, headers=planner)
    assert again.get_json()["grids"][1]["code"] == f.COMMUNITY + "004"
    assert _codes(client, planner) == [f.GRID_A, f.GRID_B, f.COMMUNITY + "003", f.COMMUNITY + "004"]
    missing = client.post(f"/api/v1/grids/{f.GRID_A}/split", json={
        "line": {"type": "LineString", "coordinates": [[119.870, 28.441], [119.871, 28.442]]}}, headers=planner)
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "grid_split_line_invalid"


def test_merge_keeps_the_smallest_code_and_retires_the_rest(client, db_session, world, planner):
    response = client.post("/api/v1/grids/merge", json={"codes": [f.GRID_B, f.GRID_A], "reason": "人口减少"},
                           headers=planner)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["code"], body["version"], body["households"], body["retired"]) == (f.GRID_A, 2, 4, [f.GRID_B])
    assert body["geometry"]["type"] == "MultiPolygon"
    assert _codes(client, planner) == [f.GRID_A]
    # The retired grid keeps its history and its code is never handed out again.
    history = client.get(f"/api/v1/grids/{f.GRID_B}/versions", headers=planner).get_json()
    assert history["retired"] is True and [v["version"] for v in history["items"]] == [1]
    assert history["items"][0]["valid_to"] is not None
    split = client.post(f"/api/v1/grids/{f.GRID_A}/split", json={
        "line": {"type": "LineString", "coordinates": [[119.886, 28.449], [119.886, 28.461]]}}, headers=planner)
    assert split.get_json()["grids"][1]["code"] == f.COMMUNITY + "003"
    admin = f.auth(f.token_for(db_session, "admin"))
    other = client.post("/api/v1/grids/merge", json={"codes": [f.GRID_A, f.GRID_C]}, headers=admin)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "grid_merge_not_adjacent"


def test_versions_compare_and_revert(client, db_session, world, planner):
    url = f"/api/v1/grids/{f.GRID_A}"
    client.put(f"{url}/geometry", json={"geometry": poly(119.880, 28.450, 119.886, 28.460), "version": 1,
                                        "reason": "缩小"}, headers=planner)
    listed = client.get(f"{url}/versions", headers=planner).get_json()
    assert [(v["version"], v["households_now"], v["current"]) for v in listed["items"]] == [
        (2, 1, True), (1, 2, False)]
    assert listed["items"][0]["households_change"] == -1
    assert listed["items"][0]["area_m2"] == pytest.approx(geodesic_area(box(119.880, 28.450, 119.886, 28.460)),
                                                          rel=1e-3)
    reverted = client.post(f"{url}/revert", json={"version": 1}, headers=planner)
    assert reverted.status_code == 200, reverted.get_json()
    body = reverted.get_json()
    assert (body["version"], body["households"], body["reverted_to"]) == (3, 2, 1)
    geometries = client.get(f"{url}/versions?geometry=true", headers=planner).get_json()["items"]
    assert geometries[0]["geometry"] == geometries[2]["geometry"]
    assert geometries[0]["reason"] == "恢复到第 1 版"
    assert client.post(f"{url}/revert", json={"version": 9}, headers=planner).status_code == 404
