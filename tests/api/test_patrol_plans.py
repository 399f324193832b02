"""Patrol plans (gridmap.patrol_plan): inheritance (area default, grid, one place), the current
period in Beijing time (day, week from Monday 00:00, month), the distance that makes a check-in a
visit of a key place, validation and scope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gridmap.auth.scope import Scope
from gridmap.clock import CHINA
from gridmap.patrol_plan import service
from gridmap.places import service as places
from tests import factories as f

RADIUS = 100.0
METRES_PER_DEGREE_LAT = 110_874.0  # at 28.45° N
PLACE = (119.884, 28.453)          # in grid A
BORDER_PLACE = (119.8897, 28.455)  # grid A, 30 m from grid B


@pytest.fixture
def world(db_session):
    w = f.lishui(db_session)
    everything = Scope.everything()
    place = places.create_key_place(db_session, everything, f.GRID_A,
                                    {"name": "城北小学", "kind": "school", "lon": PLACE[0], "lat": PLACE[1]})
    border = places.create_key_place(db_session, everything, f.GRID_A, {
        "name": "城北加油站", "kind": "gas_station", "lon": BORDER_PLACE[0], "lat": BORDER_PLACE[1]})
    f.token_for(db_session, "grid_worker", f.GRID_A, username="walker")
    user_id = db_session.scalar(text("SELECT id FROM app_user WHERE username = 'walker'"))
    db_session.commit()
    return {"grids": {code: g.id for code, g in w["grids"].items()}, "place": place["id"], "border": border["id"],
            "user": user_id}


def checkin(db_session, world, grid: str, at: datetime, lon: float = 119.885, lat: float = 28.455, flags=()):
    db_session.execute(text(
        "INSERT INTO checkin (id, recorded_at, user_id, grid_id, geom, accuracy_m, flags) "
        "VALUES (:id, :at, :user, :grid, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 10, :flags)"),
        {"id": uuid.uuid4(), "at": at, "user": world["user"], "grid": world["grids"][grid], "lon": lon, "lat": lat,
         "flags": list(flags)})
    db_session.commit()


def put(client, token, expect=200, **body):
    response = client.put("/api/v1/patrol-plans", json=body, headers=f.auth(token))
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def behind(client, token, **query):
    response = client.get("/api/v1/patrol-plans/behind", query_string=query, headers=f.auth(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _key(item):
    return (item["subject"], item.get("place_id") or item["grid"])


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=CHINA)


def status(db_session, now, scope=None, **kw):
    items = service.behind(db_session, scope or Scope.everything(), radius_m=RADIUS, behind_only=False, now=now,
                           **kw)["items"]
    return {_key(i): i for i in items}


# --- inheritance ---------------------------------------------------------------------------------

def test_a_grid_inherits_the_area_default_and_its_own_plan_wins(client, db_session, world):
    sup = f.token_for(db_session, "supervisor", f.STREET)
    street = put(client, sup, subject="grid", code=f.STREET, period="week", min_count=2)
    assert street["inherited"] is False and street["code"] == f.STREET and street["area_name"] == "紫金街道"
    put(client, sup, subject="grid", code=f.GRID_A, period="day", min_count=1)
    rows = {i["grid"]: i for i in behind(client, sup)["items"]}
    assert set(rows) == {f.GRID_A, f.GRID_B}  # grid C lies in another street: no plan reaches it
    assert (rows[f.GRID_A]["period"], rows[f.GRID_A]["required"], rows[f.GRID_A]["set_at"]) == ("day", 1, f.GRID_A)
    assert (rows[f.GRID_B]["period"], rows[f.GRID_B]["required"], rows[f.GRID_B]["set_at"]) == ("week", 2, f.STREET)

    checkin(db_session, world, f.GRID_A, datetime.now(UTC) - timedelta(seconds=5))
    checkin(db_session, world, f.GRID_B, datetime.now(UTC) - timedelta(seconds=5))
    rows = {i["grid"]: i for i in behind(client, sup)["items"]}
    assert set(rows) == {f.GRID_B} and rows[f.GRID_B]["done"] == 1  # A did its day; B has 1 of 2 days

    # an exemption (0) below a default, then removing it inherits again
    exempt = put(client, sup, subject="grid", code=f.GRID_B, period="week", min_count=0)
    assert behind(client, sup)["total"] == 0
    assert client.delete(f"/api/v1/patrol-plans/{exempt['id']}", headers=f.auth(sup)).status_code == 200
    assert [i["grid"] for i in behind(client, sup)["items"]] == [f.GRID_B]


def test_a_place_inherits_the_grid_default_and_its_own_plan_wins(db_session, world):
    everything = Scope.everything()
    service.set_plan(db_session, everything, {"subject": "place", "code": f.COMMUNITY, "place_id": None,
                                              "period": "month", "min_count": 4})
    service.set_plan(db_session, everything, {"subject": "place", "code": f.GRID_A, "place_id": None,
                                              "period": "week", "min_count": 2})
    service.set_plan(db_session, everything, {"subject": "place", "code": f.GRID_A, "place_id": world["place"],
                                              "period": "day", "min_count": 1})
    rows = status(db_session, datetime.now(UTC))
    assert (rows[("place", world["place"])]["period"], rows[("place", world["place"])]["set_at"]) == ("day", None)
    assert (rows[("place", world["border"])]["period"], rows[("place", world["border"])]["set_at"]) == ("week", f.GRID_A)
    assert not any(subject == "grid" for subject, _ in rows)  # a place plan is no grid plan


# --- periods in Beijing time -----------------------------------------------------------------------

def _weekly(db_session, count=2):
    service.set_plan(db_session, Scope.everything(), {"subject": "grid", "code": f.GRID_A, "place_id": None,
                                                      "period": "week", "min_count": count})


def test_the_week_starts_on_monday_0000_beijing_not_utc(db_session, world):
    _weekly(db_session)
    # Monday 2 March 2026, 00:30 Beijing = Sunday 16:30 UTC
    now = beijing(2026, 3, 2, 0, 30)
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 1, 23, 50))  # Sunday: last week
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 2, 0, 10))   # Monday: this week
    row = status(db_session, now)[("grid", f.GRID_A)]
    assert (row["done"], row["behind"]) == (1, True)
    assert row["period_start"] == "2026-03-02T00:00:00+08:00" and row["period_end"] == "2026-03-09T00:00:00+08:00"
    # Sunday 23:59 Beijing is still the week before
    assert status(db_session, beijing(2026, 3, 1, 23, 59))[("grid", f.GRID_A)]["done"] == 1


def test_the_month_ends_at_midnight_beijing(db_session, world):
    service.set_plan(db_session, Scope.everything(), {"subject": "grid", "code": f.GRID_A, "place_id": None,
                                                      "period": "month", "min_count": 2})
    checkin(db_session, world, f.GRID_A, beijing(2026, 2, 28, 23, 30))
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 31, 23, 30))  # 15:30 UTC
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 31, 23, 45))  # the same day: one day
    assert status(db_session, beijing(2026, 3, 31, 23, 59))[("grid", f.GRID_A)]["done"] == 1
    april = status(db_session, beijing(2026, 4, 1, 0, 10))[("grid", f.GRID_A)]  # still 31 March in UTC
    assert (april["done"], april["period_start"]) == (0, "2026-04-01T00:00:00+08:00")


def test_days_count_once_and_untrusted_checkins_not_at_all(db_session, world):
    _weekly(db_session, count=3)
    now = beijing(2026, 3, 5, 12, 0)
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 3, 8, 0))
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 3, 18, 0))
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 4, 8, 0), flags=["impossible_speed"])
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 5, 8, 0), flags=["low_accuracy"])
    assert status(db_session, now)[("grid", f.GRID_A)]["done"] == 2


# --- places: the distance ------------------------------------------------------------------------

@pytest.mark.parametrize("metres, counts", [(90, True), (110, False)])
def test_a_place_is_visited_by_a_checkin_within_the_distance(db_session, world, metres, counts):
    service.set_plan(db_session, Scope.everything(), {"subject": "place", "code": f.GRID_A,
                                                      "place_id": world["place"], "period": "day", "min_count": 1})
    now = beijing(2026, 3, 5, 12, 0)
    checkin(db_session, world, f.GRID_A, beijing(2026, 3, 5, 9, 0), lon=PLACE[0],
            lat=PLACE[1] + metres / METRES_PER_DEGREE_LAT)
    assert status(db_session, now)[("place", world["place"])]["done"] == (1 if counts else 0)


def test_a_checkin_in_the_next_grid_visits_a_place_on_the_border(db_session, world):
    service.set_plan(db_session, Scope.everything(), {"subject": "place", "code": f.GRID_A,
                                                      "place_id": world["border"], "period": "day", "min_count": 1})
    now = beijing(2026, 3, 5, 12, 0)
    checkin(db_session, world, f.GRID_B, beijing(2026, 3, 5, 9, 0), lon=119.8905, lat=BORDER_PLACE[1])  # ~80 m
    assert status(db_session, now)[("place", world["border"])]["done"] == 1


# --- validation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body, status_code, code", [
    ({"subject": "grid", "code": f.GRID_A, "period": "week", "min_count": 8}, 422, "patrol_plan_count_too_high"),
    ({"subject": "grid", "code": f.GRID_A, "period": "day", "min_count": 2}, 422, "patrol_plan_count_too_high"),
    ({"subject": "grid", "code": f.GRID_A, "period": "year", "min_count": 1}, 400, "validation_failed"),
    ({"subject": "grid", "code": f.GRID_A, "period": "day", "min_count": -1}, 400, "validation_failed"),
    ({"subject": "grid", "code": "3311020010010", "period": "day", "min_count": 1}, 400, "validation_failed"),
    ({"subject": "grid", "code": "331102001009", "period": "day", "min_count": 1}, 404, "area_not_found"),
    ({"subject": "grid", "code": f.GRID_A, "place_id": "{place}", "period": "day", "min_count": 1}, 422,
     "patrol_plan_place_subject"),
    ({"subject": "place", "code": f.GRID_B, "place_id": "{place}", "period": "day", "min_count": 1}, 404,
     "key_place_not_found"),
])
def test_bad_plans_are_refused_with_a_message_and_change_nothing(client, db_session, world, body, status_code, code):
    token = f.token_for(db_session, "supervisor", f.STREET)
    body = {k: (world["place"] if v == "{place}" else v) for k, v in body.items()}
    answer = put(client, token, expect=status_code, **body)
    assert answer["error"]["code"] == code and answer["error"]["message"]
    if code == "patrol_plan_count_too_high":
        assert "最多" in answer["error"]["message"]
    assert db_session.scalar(text("SELECT count(*) FROM patrol_plan")) == 0


# --- scope ---------------------------------------------------------------------------------------

def test_a_community_supervisor_sees_the_street_default_but_cannot_change_it(client, db_session, world):
    street = put(client, f.token_for(db_session, "supervisor", f.STREET, username="sv-street"),
                 subject="grid", code=f.STREET, period="week", min_count=2)
    community = f.token_for(db_session, "supervisor", f.COMMUNITY, username="sv-community")
    answer = put(client, community, expect=404, subject="grid", code=f.STREET, period="day", min_count=1)
    assert answer["error"]["code"] == "area_not_found"
    response = client.delete(f"/api/v1/patrol-plans/{street['id']}", headers=f.auth(community))
    assert (response.status_code, response.get_json()["error"]["code"]) == (404, "patrol_plan_not_found")
    listed = client.get("/api/v1/patrol-plans", headers=f.auth(community)).get_json()
    assert [(i["code"], i["inherited"]) for i in listed["items"]] == [(f.STREET, True)]
    put(client, community, subject="grid", code=f.COMMUNITY, period="day", min_count=1)
    other = f.token_for(db_session, "supervisor", f.OTHER_STREET, username="sv-other")
    assert client.get("/api/v1/patrol-plans", headers=f.auth(other)).get_json()["total"] == 0
    assert behind(client, other)["total"] == 0
    worker = f.token_for(db_session, "grid_worker", f.GRID_A, username="gw-a")
    assert client.put("/api/v1/patrol-plans", json={"subject": "grid", "code": f.GRID_A, "period": "day",
                                                    "min_count": 1}, headers=f.auth(worker)).status_code == 403
    assert [i["grid"] for i in behind(client, worker)["items"]] == [f.GRID_A]
    assert db_session.scalar(text("SELECT count(*) FROM patrol_plan")) == 2


def test_behind_is_paginated_most_short_first(client, db_session, world):
    sup = f.token_for(db_session, "supervisor", f.STREET)
    put(client, sup, subject="grid", code=f.GRID_A, period="week", min_count=3)
    put(client, sup, subject="grid", code=f.GRID_B, period="week", min_count=5)
    put(client, sup, subject="place", code=f.GRID_A, period="week", min_count=1)
    first = behind(client, sup, limit=1)
    assert first["total"] == 4 and [i["grid"] for i in first["items"]] == [f.GRID_B]
    assert behind(client, sup, limit=2, offset=1)["items"][0]["grid"] == f.GRID_A
    places_only = behind(client, sup, subject="place")
    assert {i["place_id"] for i in places_only["items"]} == {world["place"], world["border"]}


# --- the inbox's question ------------------------------------------------------------------------

def test_inbox_behind_holds_the_users_grids_and_places_only(db_session, world):
    everything = Scope.everything()
    service.set_plan(db_session, everything, {"subject": "grid", "code": f.DISTRICT, "place_id": None,
                                              "period": "day", "min_count": 1})
    service.set_plan(db_session, everything, {"subject": "place", "code": f.DISTRICT, "place_id": None,
                                              "period": "day", "min_count": 1})
    worker = Scope(prefix=f.GRID_A, role="grid_worker", username="gw")
    mine = service.inbox_behind(db_session, worker, radius_m=RADIUS)
    assert {_key(i) for i in mine["items"]} == {("grid", f.GRID_A), ("place", world["place"]),
                                                 ("place", world["border"])}
    checkin(db_session, world, f.GRID_A, datetime.now(UTC) - timedelta(seconds=5), lon=PLACE[0], lat=PLACE[1])
    mine = service.inbox_behind(db_session, worker, radius_m=RADIUS)
    assert {_key(i) for i in mine["items"]} == {("place", world["border"])}
    supervisor = Scope(prefix=f.STREET, role="supervisor", username="sv")
    assert {i["grid"] for i in service.inbox_behind(db_session, supervisor, radius_m=RADIUS)["items"]} == {
        f.GRID_A, f.GRID_B}
