"""Drawing a new grid in a community: preview (who would move in, from where) and create."""

from __future__ import annotations

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import select

from gridmap.areas.models import Grid, GridVersion
from gridmap.households.models import Household
from tests import factories as f

NEW = f.COMMUNITY + "003"
URL = f"/api/v1/communities/{f.COMMUNITY}/grids"


def poly(*bounds) -> dict:
    return mapping(box(*bounds))


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    grids = w["grids"]
    f.household(db_session, "A1", 119.882, 28.455, grids[f.GRID_A])
    f.household(db_session, "B1", 119.892, 28.455, grids[f.GRID_B])
    f.household(db_session, "X1", 119.875, 28.455, None)
    f.household(db_session, "X2", 119.876, 28.452, None)
    f.household(db_session, "X3", 119.872, 28.445, None)  # in the community, outside the drawn grid
    db_session.commit()
    return w


@pytest.fixture
def planner(db_session, world):
    return f.auth(f.token_for(db_session, "planner", f.COMMUNITY))


def _grid_of(db_session, household_code: str) -> str | None:
    db_session.expire_all()
    return db_session.scalar(select(Grid.code).join(Household, Household.grid_id == Grid.id)
                             .where(Household.code == household_code))


def test_preview_of_a_new_grid_says_who_moves_in_from_where_and_writes_nothing(client, db_session, planner):
    response = client.post(f"{URL}/preview", json={"geometry": poly(119.873, 28.450, 119.880, 28.460)},
                           headers=planner)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["code"], body["name"]) == (NEW, "城北社区第3网格")
    assert (body["households_before"], body["households_after"], body["moved_in"], body["moved_out"]) == (0, 2, 2, 0)
    assert body["moved_in_codes"] == ["X1", "X2"] and body["moved_in_from"] == {"unassigned": 2}
    assert body["overlaps"] == [] and body["within_community"] is True
    assert {g["code"]: g["households"] for g in body["grids"]} == {f.GRID_A: 1, f.GRID_B: 1, NEW: 2}
    assert db_session.scalar(select(Grid.id).where(Grid.code == NEW)) is None
    assert _grid_of(db_session, "X1") is None


def test_preview_over_a_neighbour_reports_the_overlap_and_leaves_its_households(client, planner):
    body = client.post(f"{URL}/preview", json={"geometry": poly(119.873, 28.450, 119.883, 28.460)},
                       headers=planner).get_json()
    assert [o["code"] for o in body["overlaps"]] == [f.GRID_A]
    # A1 lies in the overlap: the older grid (smaller code) keeps it, as the assignment would.
    assert body["moved_in_codes"] == ["X1", "X2"] and body["moved_in_from"] == {"unassigned": 2}


def test_create_allocates_the_next_code_writes_version_1_and_assigns(client, db_session, planner):
    response = client.post(URL, json={"geometry": poly(119.873, 28.450, 119.880, 28.460), "reason": "新建小区"},
                           headers=planner)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["code"], body["name"], body["version"], body["households"], body["households_moved"]) == (
        NEW, "城北社区第3网格", 1, 2, 2)
    assert body["community_code"] == f.COMMUNITY
    assert _grid_of(db_session, "X1") == NEW and _grid_of(db_session, "X3") is None
    grid_id = db_session.scalar(select(Grid.id).where(Grid.code == NEW))
    rows = db_session.execute(select(GridVersion.version, GridVersion.reason, GridVersion.valid_to)
                              .where(GridVersion.grid_id == grid_id)).all()
    assert [(r.version, r.reason, r.valid_to) for r in rows] == [(1, "新建小区", None)]
    # It is a grid like any other: listed, versioned, editable.
    history = client.get(f"/api/v1/grids/{NEW}/versions", headers=planner).get_json()
    assert [v["version"] for v in history["items"]] == [1]
    named = client.post(URL, json={"geometry": poly(119.870, 28.440, 119.880, 28.449), "reason": "南片",
                                   "name": "南片网格"}, headers=planner)
    assert named.status_code == 201, named.get_json()
    assert (named.get_json()["code"], named.get_json()["name"]) == (f.COMMUNITY + "004", "南片网格")
    assert _grid_of(db_session, "X3") == f.COMMUNITY + "004"


def test_codes_of_retired_grids_are_not_reused(client, planner):
    merged = client.post("/api/v1/grids/merge", json={"codes": [f.GRID_A, f.GRID_B], "reason": "合并"},
                         headers=planner)
    assert merged.status_code == 200
    created = client.post(URL, json={"geometry": poly(119.873, 28.450, 119.880, 28.460), "reason": "新建"},
                          headers=planner)
    assert created.get_json()["code"] == NEW  # 002 is retired, never handed out again


def test_topology_rules_and_refusals(client, db_session, planner):
    outside = client.post(URL, json={"geometry": poly(119.865, 28.450, 119.880, 28.460), "reason": "扩大"},
                          headers=planner)
    assert outside.status_code == 422
    error = outside.get_json()["error"]
    assert error["code"] == "grid_outside_community" and "?" not in error["message"]
    assert error["details"]["outside_community_m2"] > 1000
    overlap = {"geometry": poly(119.873, 28.450, 119.883, 28.460), "reason": "重叠"}
    refused = client.post(URL, json=overlap, headers=planner)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "grid_overlaps_sibling"
    assert db_session.scalar(select(Grid.id).where(Grid.code == NEW)) is None
    no_reason = client.post(URL, json={"geometry": poly(119.873, 28.450, 119.880, 28.460)}, headers=planner)
    # The document states it (minLength 1, a non-blank pattern): a 400 naming the field.
    assert no_reason.status_code == 400 and no_reason.get_json()["error"]["code"] == "validation_failed"
    assert [e["field"] for e in no_reason.get_json()["error"]["details"]["errors"]] == ["reason"]
    forced = client.post(URL, json={**overlap, "force": True}, headers=planner)
    assert forced.status_code == 201 and forced.get_json()["forced"] is True
    assert _grid_of(db_session, "A1") == f.GRID_A and _grid_of(db_session, "X1") == NEW
    bad = client.post(URL, json={"geometry": {"type": "Point", "coordinates": [119.87, 28.45]}, "reason": "x"},
                      headers=planner)
    assert bad.status_code == 422


def test_scope_level_and_role(client, db_session, world, planner):
    body = {"geometry": poly(119.921, 28.441, 119.925, 28.445), "reason": "越权"}
    assert client.post(f"/api/v1/communities/{f.OTHER_COMMUNITY}/grids", json=body,
                       headers=planner).status_code == 404
    admin = f.auth(f.token_for(db_session, "admin"))
    assert client.post(f"/api/v1/communities/{f.STREET}/grids", json=body, headers=admin).status_code == 404
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))
    assert client.post(URL, json=body, headers=worker).status_code == 403
