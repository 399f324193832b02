"""Reviewing a proposal before accepting it: re-counting an adjusted set, refusing overlapping
or outside features, and a whole street (two communities) proposed and accepted at once."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box, mapping, shape
from sqlalchemy import func, select, text

from gridmap.areas.models import AdminUnit, Grid
from gridmap.households.models import Household
from tests import factories as f

SECOND = f.STREET + "002"  # 城南社区, north of 城北社区 in the same street
SECOND_BOX = (119.870, 28.470, 119.900, 28.488)


def _insert(db_session, prefix: str, lon: np.ndarray, lat: np.ndarray) -> None:
    db_session.execute(text("""
        INSERT INTO household (code, geom)
        SELECT :prefix || lpad(i::text, 5, '0'), ST_SetSRID(ST_MakePoint(x, y), 4326)
          FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) WITH ORDINALITY AS t(x, y, i)"""),
        {"prefix": prefix, "lon": lon.tolist(), "lat": lat.tolist()})


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    rng = np.random.default_rng(7)
    _insert(db_session, "N", rng.uniform(119.872, 119.898, 650), rng.uniform(28.441, 28.469, 650))
    second = AdminUnit(code=SECOND, name="城南社区", level="community", parent_id=w["street"].id,
                       geom=f.multipolygon(SECOND_BOX))
    db_session.add(second)
    db_session.flush()
    _insert(db_session, "S", rng.uniform(119.871, 119.899, 420), rng.uniform(28.471, 28.487, 420))
    db_session.commit()
    return w


@pytest.fixture
def planner(db_session, world):
    return f.auth(f.token_for(db_session, "planner", f.STREET))


def _propose(client, planner, within=f.COMMUNITY) -> list[dict]:
    response = client.post("/api/v1/planning/proposals", json={"within": within}, headers=planner)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["features"]


def test_preview_recounts_a_proposal_as_proposed(client, planner):
    features = _propose(client, planner)
    response = client.post("/api/v1/planning/proposals/preview", json={"within": f.COMMUNITY, "features": features},
                           headers=planner)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [x["properties"]["households"] for x in body["features"]] == [
        x["properties"]["households"] for x in features]
    assert sum(x["properties"]["households"] for x in body["features"]) == 650
    for proposed, counted in zip(features, body["features"]):
        assert counted["properties"]["compactness"] == pytest.approx(proposed["properties"]["compactness"], abs=0.01)
    assert (body["overlaps"], body["households_uncovered"], body["acceptable"]) == ([], 0, True)


def test_an_adjusted_boundary_is_recounted_and_overlaps_refuse_acceptance(client, db_session, planner):
    features = _propose(client, planner)
    assert len(features) == 2
    first, second = (shape(x["geometry"]) for x in features)
    # Feature 1 swallows feature 2: every household counts once, for the first.
    features[0] = {**features[0], "geometry": mapping(first.union(second))}
    body = client.post("/api/v1/planning/proposals/preview", json={"within": f.COMMUNITY, "features": features},
                       headers=planner).get_json()
    assert [x["properties"]["households"] for x in body["features"]] == [650, 0]
    assert [o["features"] for o in body["overlaps"]] == [[1, 2]] and body["acceptable"] is False
    assert body["overlaps"][0]["area_m2"] > 1000
    response = client.post("/api/v1/planning/proposals/accept",
                           json={"within": f.COMMUNITY, "features": features, "reason": "调整"}, headers=planner)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "proposal_features_overlap"
    assert "第 1 与第 2 个" in error["message"] and error["details"]["overlaps"][0]["features"] == [1, 2]
    assert db_session.scalar(select(func.max(Grid.version))) == 1  # nothing written
    # Two features that only share an edge are fine.
    fine = client.post("/api/v1/planning/proposals/preview", json={"within": f.COMMUNITY, "features": _propose(
        client, planner)}, headers=planner).get_json()
    assert fine["overlaps"] == []


def test_a_feature_outside_the_community_names_the_area(client, db_session, planner):
    features = _propose(client, planner)
    grown = shape(features[0]["geometry"]).union(box(119.860, 28.441, 119.871, 28.449))  # ~1 km² west of it
    features[0] = {**features[0], "geometry": mapping(grown)}
    preview = client.post("/api/v1/planning/proposals/preview", json={"within": f.COMMUNITY, "features": features},
                          headers=planner).get_json()
    assert preview["features"][0]["properties"]["within_community"] is False
    assert preview["features"][0]["properties"]["outside_community_m2"] > 50_000
    response = client.post("/api/v1/planning/proposals/accept", json={"within": f.COMMUNITY, "features": features},
                           headers=planner)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "grid_outside_community"
    assert "?" not in error["message"] and error["details"]["features"][0]["feature"] == 1
    assert str(error["details"]["features"][0]["outside_community_m2"]) in error["message"]
    assert db_session.scalar(select(func.max(Grid.version))) == 1


def test_a_street_with_two_communities_is_proposed_and_accepted_at_once(client, db_session, planner):
    features = _propose(client, planner, within=f.STREET)
    by_community: dict[str, list[int]] = {}
    for x in features:
        by_community.setdefault(x["properties"]["community_code"], []).append(x["properties"]["households"])
    assert by_community == {f.COMMUNITY: [325, 325], SECOND: [420]}
    assert all(x["properties"]["within_target"] for x in features)
    preview = client.post("/api/v1/planning/proposals/preview", json={"within": f.STREET, "features": features},
                          headers=planner).get_json()
    assert preview["acceptable"] is True and preview["households_uncovered"] == 0
    response = client.post("/api/v1/planning/proposals/accept",
                           json={"within": f.STREET, "features": features, "reason": "街道统一划分"}, headers=planner)
    assert response.status_code == 200, response.get_json()
    accepted = {x["properties"]["code"]: x["properties"]["households"] for x in response.get_json()["features"]}
    # 城北 keeps its two codes (new versions); 城南 had none and gets 001.
    assert sorted(accepted) == [f.GRID_A, f.GRID_B, SECOND + "001"]
    assert accepted[SECOND + "001"] == 420
    assert db_session.scalar(select(func.count()).select_from(Household).where(Household.grid_id.is_(None))) == 0
    assert db_session.scalar(select(Grid.name).where(Grid.code == SECOND + "001")) == "城南社区第1网格"
    # A feature tagged with a community outside the street is refused.
    stray = [{**features[0], "properties": {**features[0]["properties"], "community_code": f.OTHER_COMMUNITY}}]
    refused = client.post("/api/v1/planning/proposals/accept", json={"within": f.STREET, "features": stray},
                          headers=planner)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "unknown_parent"
