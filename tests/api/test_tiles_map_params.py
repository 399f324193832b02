"""The grid tile attributes the hazard and patrol maps colour by: hazards of one category
(hazards_category) and households visited on one day (patrol_day), within the caller's scope."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gridmap.auth.scope import Scope
from gridmap.hazards import service as hazards
from tests import factories as f
from tests.api.test_tiles import GRID_A_URL, features, get, url

DAY = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date()


def _world(db_session):
    world = f.lishui(db_session)
    for i in range(4):
        f.household(db_session, f"A{i}", 119.882 + i * 0.001, 28.455, world["grids"][f.GRID_A])
    db_session.commit()
    return world


def test_hazards_of_one_category_only(client, db_session):
    _world(db_session)
    for category in ("fire", "fire", "noise"):
        hazards.report(db_session, Scope.everything(), category=category, severity="normal", description="x",
                       lon=119.886, lat=28.456, crs=None)
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    every = features(get(client, token, query_string={"hazards": "true"}))[f.GRID_A]["properties"]
    fire = features(get(client, token, query_string={"hazards_category": "fire"}))[f.GRID_A]["properties"]
    noise = features(get(client, token, query_string={"hazards_category": "noise"}))[f.GRID_A]["properties"]
    assert (every["hazards"], fire["hazards"], noise["hazards"]) == (3, 2, 1)
    assert fire["per_1000"] == 500.0  # 2 per 4 households
    response = get(client, token, query_string={"hazards_category": "fire'--"})
    assert response.status_code == 400


def _checkin(client, token, household, hour, day=DAY):
    at = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Asia/Shanghai")).isoformat()
    item = {"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.455, "accuracy_m": 10, "recorded_at": at,
            "household_code": household}
    assert client.post("/api/v1/checkins", json=item, headers=f.auth(token)).status_code == 201


def test_households_visited_on_one_day(client, db_session):
    _world(db_session)
    wang = f.token_for(db_session, "grid_worker", f.GRID_A, username="wang")
    _checkin(client, wang, "A0", 9)
    _checkin(client, wang, "A0", 10)  # the same household twice counts once
    _checkin(client, wang, "A1", 11)
    _checkin(client, wang, "A2", 9, day=DAY - timedelta(days=1))
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    day = features(get(client, token, query_string={"patrol_day": DAY.isoformat()}))[f.GRID_A]["properties"]
    assert (day["visited"], day["coverage"]) == (2, 0.5)
    month = features(get(client, token, query_string={"patrol_month": f"{DAY:%Y-%m}"}))[f.GRID_A]["properties"]
    assert month["visited"] == (3 if DAY.day > 1 else 2)
    both = get(client, token, query_string={"patrol_day": DAY.isoformat(), "patrol_month": f"{DAY:%Y-%m}"})
    assert both.status_code == 400
    # the grid worker's own scope: their grid only; another grid's worker gets nothing of it
    other = f.token_for(db_session, "grid_worker", f.GRID_C, username="zhao")
    assert features(get(client, other, query_string={"patrol_day": DAY.isoformat()})) == {}
    assert features(get(client, other, url("grids", 119.935, 28.455),
                        query_string={"patrol_day": DAY.isoformat()})).keys() == {f.GRID_C}


def test_an_out_of_area_caller_gets_no_figures_of_other_areas(client, db_session):
    _world(db_session)
    hazards.report(db_session, Scope.everything(), category="fire", severity="normal", description="x",
                   lon=119.886, lat=28.456, crs=None)
    token = f.token_for(db_session, "supervisor", f.OTHER_STREET)
    for query in ({"hazards_category": "fire"}, {"patrol_day": DAY.isoformat()},
                  {"hazards_category": "fire", "within": f.STREET}):
        response = get(client, token, GRID_A_URL, query_string=query)
        assert response.status_code == 200 and response.data == b"", query
