"""Partition proposals through the API: nothing saved until accepted, accepted atomically."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select, text

from gridmap.areas.models import Grid
from gridmap.households.models import Household
from tests import factories as f


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    rng = np.random.default_rng(3)
    # Two clusters in 城北社区: 700 around A, 500 in the south-west; set-wise insert.
    lon = np.concatenate([rng.uniform(119.881, 119.899, 700), rng.uniform(119.871, 119.879, 500)])
    lat = np.concatenate([rng.uniform(28.451, 28.459, 700), rng.uniform(28.441, 28.449, 500)])
    db_session.execute(text("""
        INSERT INTO household (code, geom)
        SELECT 'P' || lpad(i::text, 5, '0'), ST_SetSRID(ST_MakePoint(x, y), 4326)
          FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) WITH ORDINALITY AS t(x, y, i)"""),
        {"lon": lon.tolist(), "lat": lat.tolist()})
    db_session.commit()
    return w


@pytest.fixture
def planner(db_session, world):
    return f.auth(f.token_for(db_session, "planner", f.STREET))


def test_proposal_meets_the_bounds_and_saves_nothing(client, db_session, planner):
    response = client.post("/api/v1/planning/proposals", json={"within": f.COMMUNITY}, headers=planner)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    counts = [feat["properties"]["households"] for feat in body["features"]]
    assert sum(counts) == 1200 and len(counts) == 3
    assert all(300 <= n <= 500 for n in counts), counts
    assert all(0 < feat["properties"]["compactness"] <= 1 for feat in body["features"])
    assert db_session.scalar(select(func.count()).select_from(Grid)) == 3
    assert db_session.scalar(select(func.count()).select_from(Household).where(Household.grid_id.isnot(None))) == 0


def test_accepting_a_proposal_replaces_the_grids_in_one_change(client, db_session, planner):
    proposal = client.post("/api/v1/planning/proposals", json={"within": f.COMMUNITY, "target_min": 250,
                                                               "target_max": 450}, headers=planner).get_json()
    k = len(proposal["features"])
    response = client.post("/api/v1/planning/proposals/accept",
                           json={"within": f.COMMUNITY, "features": proposal["features"], "reason": "重新划分"},
                           headers=planner)
    assert response.status_code == 200, response.get_json()
    accepted = response.get_json()
    assert [feat["properties"]["code"] for feat in accepted["features"]] == [
        f"{f.COMMUNITY}{i:03d}" for i in range(1, k + 1)]
    assert sorted(feat["properties"]["households"] for feat in accepted["features"]) == sorted(
        feat["properties"]["households"] for feat in proposal["features"])
    assert all(feat["properties"]["within_target"] for feat in accepted["features"])
    assert db_session.scalar(select(func.count()).select_from(Household).where(Household.grid_id.is_(None))) == 0


def test_a_bad_feature_rejects_the_whole_acceptance(client, db_session, planner):
    proposal = client.post("/api/v1/planning/proposals", json={"within": f.COMMUNITY}, headers=planner).get_json()
    features = proposal["features"]
    features[-1] = {**features[-1], "geometry": {"type": "Polygon", "coordinates": [[[119.8, 28.4], [119.81, 28.4]]]}}
    response = client.post("/api/v1/planning/proposals/accept", json={"within": f.COMMUNITY, "features": features},
                           headers=planner)
    assert response.status_code == 422
    assert db_session.scalar(select(func.max(Grid.version))) == 1
    bad = client.post("/api/v1/planning/proposals", json={"within": f.COMMUNITY, "target_min": 600,
                                                          "target_max": 500}, headers=planner)
    assert bad.status_code == 422
