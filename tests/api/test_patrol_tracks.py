"""GET /api/v1/checkins, /api/v1/patrol/tracks and /api/v1/patrol/coverage (五必访)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests import factories as f

CHINA = ZoneInfo("Asia/Shanghai")
DAY = (datetime.now(CHINA) - timedelta(days=1)).date()


def _at(hour: int, minute: int = 0) -> str:
    return datetime.combine(DAY, time(hour, minute), CHINA).isoformat()


def _checkin(client, headers, lon, lat, at, **extra):
    item = {"id": str(uuid.uuid4()), "lon": lon, "lat": lat, "accuracy_m": 10, "recorded_at": at, **extra}
    response = client.post("/api/v1/checkins", json=item, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _world(db_session):
    world = f.lishui(db_session)
    grid_a = world["grids"][f.GRID_A]
    f.household(db_session, "H1", 119.8850, 28.4553, grid_a, tags=["孤寡老人"])   # ~33 m from the track
    f.household(db_session, "H2", 119.8850, 28.4590, grid_a, tags=["孤寡老人"])   # ~440 m away
    f.household(db_session, "H3", 119.8890, 28.4510, grid_a, tags=["失业", "出租房"])
    f.household(db_session, "H4", 119.8860, 28.4520, grid_a, tags=["出租房"])      # no visit required
    worker = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A, username="wang"))
    other = f.auth(f.token_for(db_session, "grid_worker", f.GRID_B, username="li"))
    street = f.auth(f.token_for(db_session, "supervisor", f.STREET))
    elsewhere = f.auth(f.token_for(db_session, "supervisor", f.OTHER_STREET))
    return worker, other, street, elsewhere


def _walk(client, worker, other):
    # wang walks east along lat 28.455 through GRID_A, visits H1, then leaves for GRID_C.
    _checkin(client, worker, 119.881, 28.455, _at(9))
    _checkin(client, worker, 119.884, 28.455, _at(10))
    _checkin(client, worker, 119.887, 28.455, _at(10, 30), household_code="H1", note="走访孤寡老人")
    _checkin(client, worker, 119.935, 28.455, _at(12))                         # GRID_C: outside
    _checkin(client, other, 119.895, 28.455, _at(11))


def test_lists_are_scoped_and_a_grid_worker_sees_only_their_own(client, db_session):
    worker, other, street, elsewhere = _world(db_session)
    _walk(client, worker, other)
    mine = client.get(f"/api/v1/checkins?date={DAY}", headers=worker).get_json()
    assert mine["total"] == 4 and {p["properties"]["user"] for p in mine["features"]} == {"wang"}
    assert mine["features"][2]["properties"]["household_code"] == "H1"
    assert client.get(f"/api/v1/checkins?date={DAY}&user=wang", headers=other).get_json()["total"] == 0
    everyone = client.get(f"/api/v1/checkins?date={DAY}", headers=street).get_json()
    assert everyone["total"] == 5
    assert client.get(f"/api/v1/checkins?date={DAY}&user=li", headers=street).get_json()["total"] == 1
    # Another street sees only the check-in made in its own grid (GRID_C).
    assert client.get(f"/api/v1/checkins?date={DAY}", headers=elsewhere).get_json()["total"] == 1
    assert client.get(f"/api/v1/checkins?date={DAY + timedelta(days=1)}", headers=street).get_json()["total"] == 0
    assert client.get("/api/v1/checkins?date=2026-13-01", headers=street).status_code == 400  # not a day
    assert client.get("/api/v1/checkins?date=0001-01-01", headers=street).status_code == 400  # before 2000
    nobody = client.get(f"/api/v1/checkins?date={DAY}&user=nobody", headers=street)
    assert nobody.status_code == 200 and nobody.get_json()["total"] == 0  # not a 404: no account enumeration


def test_daily_tracks_distance_time_inside_and_coverage(client, db_session):
    worker, other, street, _ = _world(db_session)
    _walk(client, worker, other)
    body = client.get(f"/api/v1/patrol/tracks?date={DAY}", headers=street).get_json()
    tracks = {t["user"]: t for t in body["items"]}
    wang = tracks["wang"]
    assert wang["grid"] == f.GRID_A and wang["points"] == 4 and wang["flagged"] == 1
    assert wang["track"]["type"] == "LineString" and len(wang["track"]["coordinates"]) == 4
    # 119.881 → 119.935 along 28.455: 54 thousandths of a degree ≈ 5.29 km.
    assert 5200 < wang["distance_m"] < 5400
    assert wang["inside_s"] == 90 * 60          # 9:00 → 10:30 inside; the leg to GRID_C is not
    # Of GRID_A's 4 households only H1 (~33 m) is within 50 m of the track.
    assert wang["coverage"] == {"households": 4, "passed": 1, "share": 0.25, "radius_m": 50.0}
    li = tracks["li"]
    assert li["track"]["type"] == "Point" and li["distance_m"] == 0
    mine = client.get(f"/api/v1/patrol/tracks?date={DAY}", headers=other).get_json()
    assert [t["user"] for t in mine["items"]] == ["li"]


def test_five_must_visit_coverage_by_grid_and_worker(client, db_session):
    worker, other, street, _ = _world(db_session)
    _walk(client, worker, other)
    body = client.get(f"/api/v1/patrol/coverage?month={DAY:%Y-%m}", headers=street).get_json()
    grids = {g["code"]: g for g in body["grids"]}
    a = grids[f.GRID_A]
    assert (a["required"], a["visited"]) == (3, 1)
    assert [d["code"] for d in a["due"]] == ["H2", "H3"]
    assert a["due"][1]["tags"] == ["失业"]
    workers = {w["user"]: w for w in body["workers"]}
    assert workers["wang"]["visited_by_worker"] == 1 and workers["wang"]["due"] == 2
    assert workers["li"]["required"] == 0
    own = client.get(f"/api/v1/patrol/coverage?month={DAY:%Y-%m}", headers=other).get_json()
    assert own["grids"] == [] and [w["user"] for w in own["workers"]] == ["li"]
    next_month = client.get("/api/v1/patrol/coverage?month=2099-01", headers=street).get_json()
    assert next_month["grids"][0]["visited"] == 0
    assert client.get("/api/v1/patrol/coverage?month=2026-1", headers=street).status_code == 400  # not YYYY-MM
    assert client.get("/api/v1/patrol/coverage?month=0000-01", headers=street).status_code == 400  # before 2000
