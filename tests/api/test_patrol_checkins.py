"""POST /api/v1/checkins: single and batch, idempotent re-sends, grid check, every flag."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select, text

from gridmap.areas.models import GridVersion
from gridmap.patrol.models import Checkin
from tests import factories as f
from tests.factories import multipolygon


def _at(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def _item(lon=119.885, lat=28.455, **extra):
    return {"id": str(uuid.uuid4()), "lon": lon, "lat": lat, "accuracy_m": 10, "recorded_at": _at(), **extra}


def _worker(db_session):
    world = f.lishui(db_session)
    return world, f.auth(f.token_for(db_session, "grid_worker", f.GRID_A))


def _rows(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Checkin))


def test_single_checkin_then_resend_is_a_duplicate_and_writes_nothing(client, db_session):
    _, headers = _worker(db_session)
    item = _item(note="巡查正常")
    first = client.post("/api/v1/checkins", json=item, headers=headers)
    assert first.status_code == 201, first.get_json()
    answer = first.get_json()
    assert answer["status"] == "created" and answer["id"] == item["id"]
    assert answer["grid"] == f.GRID_A and answer["in_own_grid"] is True and answer["flags"] == []
    again = client.post("/api/v1/checkins", json={**item, "lon": 119.935, "note": "改过"}, headers=headers)
    assert again.status_code == 200
    assert again.get_json() == {**answer, "status": "duplicate"}
    assert _rows(db_session) == 1
    row = db_session.scalar(select(Checkin))
    assert row.note == "巡查正常" and row.grid_version == 1


def test_an_id_in_another_form_is_the_same_id(client, db_session):
    """Upper case (in any one group), braces, no hyphens: one UUID, answered with its canonical
    text, so a re-send in another form is a duplicate of the first."""
    _, headers = _worker(db_session)
    canonical = "0190abcd-ef01-7abc-8def-abcdef012345"  # a letter in every group
    item = {**_item(), "id": canonical}
    groups = canonical.split("-")
    one_group_upper = ["-".join(g.upper() if k == n else g for k, g in enumerate(groups)) for n in range(5)]
    first = client.post("/api/v1/checkins", json={**item, "id": canonical.upper()}, headers=headers)
    assert first.status_code == 201 and first.get_json()["id"] == canonical
    for other in ("{" + canonical + "}", canonical.replace("-", ""), canonical, *one_group_upper):
        again = client.post("/api/v1/checkins", json={**item, "id": other}, headers=headers)
        assert again.status_code == 200 and again.get_json()["status"] == "duplicate", other
        assert again.get_json()["id"] == canonical, other
    bad = client.post("/api/v1/checkins", json={**item, "id": canonical[:-1]}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "validation_failed"
    assert _rows(db_session) == 1


def test_batch_keeps_good_items_and_answers_bad_ones_each(client, db_session):
    world, headers = _worker(db_session)
    f.household(db_session, "H-A1", 119.8851, 28.4551, world["grids"][f.GRID_A], tags=["孤寡老人"])
    f.household(db_session, "H-C1", 119.93, 28.45, world["grids"][f.GRID_C])
    good = _item(household_code="H-A1")
    items = [
        good,
        {"id": "not-a-uuid", "lon": 119.885, "lat": 28.455, "accuracy_m": 5, "recorded_at": _at()},
        _item(lon=28.455, lat=119.885),                      # swapped
        _item(household_code="H-C1"),                        # another grid's household
        _item(crs="EPSG:999999"),  # a name of the right form that PROJ does not know
        {**good},                                            # the same id twice in one batch
    ]
    response = client.post("/api/v1/checkins", json={"items": items}, headers=headers)
    assert response.status_code == 207
    body = response.get_json()
    assert (body["created"], body["duplicate"], body["errors"]) == (1, 1, 4)
    results = body["items"]
    assert [r["status"] for r in results] == ["created", "error", "error", "error", "error", "duplicate"]
    assert results[1]["error"]["code"] == "validation_failed" and results[1]["http_status"] == 400
    assert results[2]["error"]["code"] == "coordinate_swapped" and results[2]["http_status"] == 422
    assert results[3]["error"]["code"] == "household_not_found"
    assert results[4]["error"]["code"] == "invalid_crs"
    assert "住户" in results[3]["error"]["message"]
    assert _rows(db_session) == 1
    assert db_session.scalar(text("SELECT h.code FROM checkin c JOIN household h ON h.id = c.household_id")) == "H-A1"

    all_good = client.post("/api/v1/checkins", json={"items": [_item(), _item()]}, headers=headers)
    assert all_good.status_code == 200 and all_good.get_json()["created"] == 2


def test_a_batch_over_500_is_refused_whole(client, db_session):
    _, headers = _worker(db_session)
    response = client.post("/api/v1/checkins", json={"items": [_item() for _ in range(501)]}, headers=headers)
    assert response.status_code == 422  # the document's maxItems; 413 is for bytes
    assert response.get_json()["error"]["code"] == "too_many_checkins"
    assert _rows(db_session) == 0


def test_single_bad_item_gets_the_error_envelope(client, db_session):
    _, headers = _worker(db_session)
    response = client.post("/api/v1/checkins", json=_item(lon=2.35, lat=48.85), headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "coordinate_outside_china"
    assert client.post("/api/v1/checkins", json=_item(), headers={}).status_code == 401


def _flags(client, headers, **item):
    response = client.post("/api/v1/checkins", json=_item(**item), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_every_flag(client, db_session):
    _, headers = _worker(db_session)
    outside = _flags(client, headers, lon=119.935, lat=28.455, recorded_at=_at(-timedelta(hours=6)))
    assert outside["flags"] == ["outside_grid"] and outside["grid"] == f.GRID_C and outside["in_own_grid"] is False
    assert _flags(client, headers, accuracy_m=500, recorded_at=_at(-timedelta(hours=5)))["flags"] == ["low_accuracy"]
    assert _flags(client, headers, recorded_at=_at(timedelta(hours=2)))["flags"] == ["future_time"]
    stale = _flags(client, headers, recorded_at=_at(-timedelta(days=10)))
    assert stale["flags"] == ["stale"]
    # 4 km in one minute after the check-in 6 hours ago in GRID_C, the previous one in time.
    fast = _flags(client, headers, lon=119.885, lat=28.455, recorded_at=_at(-timedelta(hours=6) + timedelta(minutes=1)))
    assert fast["flags"] == ["impossible_speed"]
    # Walking pace is fine.
    slow = _flags(client, headers, lon=119.886, lat=28.455, recorded_at=_at(-timedelta(hours=6) + timedelta(minutes=3)))
    assert slow["flags"] == []


def test_impossible_speed_within_one_batch(client, db_session):
    _, headers = _worker(db_session)
    t0 = datetime.now(UTC) - timedelta(hours=1)
    later = _item(lon=119.935, lat=28.455, recorded_at=(t0 + timedelta(seconds=30)).isoformat())
    earlier = _item(recorded_at=t0.isoformat())
    body = client.post("/api/v1/checkins", json={"items": [later, earlier]}, headers=headers).get_json()
    assert body["items"][0]["flags"] == ["outside_grid", "impossible_speed"]
    assert body["items"][1]["flags"] == []


def test_impossible_speed_against_the_later_of_stored_and_batch_previous(client, db_session):
    _, headers = _worker(db_session)
    t0 = datetime.now(UTC) - timedelta(hours=2)
    at = lambda s: (t0 + timedelta(seconds=s)).isoformat()  # noqa: E731
    # stored: in GRID_A at t0 and in GRID_C (~5 km east) at t0 + 60 s (itself too fast)
    stored = client.post("/api/v1/checkins", json={"items": [_item(recorded_at=at(0)),
                                                             _item(lon=119.935, recorded_at=at(60))]}, headers=headers)
    assert [r["flags"] for r in stored.get_json()["items"]] == [[], ["outside_grid", "impossible_speed"]]
    body = client.post("/api/v1/checkins", json={"items": [
        _item(recorded_at=at(30)),                  # previous: stored t0 in GRID_A (the batch has none before it)
        _item(lon=119.9351, recorded_at=at(90)),    # previous: stored t0 + 60 s in GRID_C, later than the batch's 30 s
        _item(recorded_at=at(120)),                 # previous: the batch's own 90 s in GRID_C
    ]}, headers=headers).get_json()
    assert [r["flags"] for r in body["items"]] == [[], ["outside_grid"], ["impossible_speed"]]


def test_previous_position_on_a_tie_in_time_is_the_stored_one(client, db_session):
    _, headers = _worker(db_session)
    t0 = datetime.now(UTC) - timedelta(hours=2)
    at = lambda s: (t0 + timedelta(seconds=s)).isoformat()  # noqa: E731
    # stored by the worker's other phone: in GRID_A at t0, in GRID_C (~5 km east) at t0 + 60 s
    client.post("/api/v1/checkins", json={"items": [_item(recorded_at=at(0)), _item(lon=119.935, recorded_at=at(60))]},
                headers=headers)
    body = client.post("/api/v1/checkins", json={"items": [
        _item(recorded_at=at(60)),   # previous: stored t0 (the one stored at the same time is not before it)
        _item(recorded_at=at(90)),   # previous: stored t0 + 60 s in GRID_C, tied with the batch's own t0 + 60 s
    ]}, headers=headers).get_json()
    assert [r["flags"] for r in body["items"]] == [[], ["impossible_speed"]]


def test_batch_mixing_new_stored_and_foreign_ids(client, db_session):
    _, headers = _worker(db_session)
    other = f.auth(f.token_for(db_session, "grid_worker", f.GRID_A, username="another-worker"))
    mine = _item(recorded_at=_at(-timedelta(hours=3)), accuracy_m=500)
    theirs = _item(recorded_at=_at(-timedelta(hours=2)))
    assert client.post("/api/v1/checkins", json=mine, headers=headers).status_code == 201
    assert client.post("/api/v1/checkins", json=theirs, headers=other).status_code == 201
    first = client.post("/api/v1/checkins", json=mine, headers=headers).get_json()
    new = [_item(recorded_at=_at(-timedelta(minutes=k))) for k in (30, 20)]
    # a malformed item first: the stored items' places in the batch differ from their places
    # among the good ones
    batch = [{"id": str(uuid.uuid4())}, {**mine, "accuracy_m": 5}, new[0], theirs, new[1], {**new[0]}]
    response = client.post("/api/v1/checkins", json={"items": batch}, headers=headers)
    assert response.status_code == 207
    body = response.get_json()
    assert (body["created"], body["duplicate"], body["errors"]) == (2, 2, 2)
    results = body["items"]
    assert [r["status"] for r in results] == ["error", "duplicate", "created", "error", "created", "duplicate"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4, 5]
    # the stored first answer, not one computed from the re-sent values
    assert results[1] == {**first, "index": 1} and results[1]["flags"] == ["low_accuracy"]
    assert results[3]["http_status"] == 409 and results[3]["error"]["code"] == "checkin_id_taken"
    assert results[3]["id"] == theirs["id"]
    assert results[5]["id"] == new[0]["id"]
    assert _rows(db_session) == 4
    stored = db_session.scalar(select(Checkin.accuracy_m).where(Checkin.id == uuid.UUID(mine["id"])))
    assert stored == 500


def test_recorded_at_is_in_the_years_2000_to_2100_and_flagged_at_their_ends(client, db_session):
    """As every moment the API takes (SECURITY.md, the contract): year 1 and 9999 are refused, each
    item on its own, and the first and last days of the range are stored, flagged."""
    _, headers = _worker(db_session)
    items = [_item(recorded_at="0001-01-02T00:00:00+00:00"), _item(recorded_at="9999-12-30T00:00:00+00:00"),
             _item(recorded_at="1999-12-31T23:59:59+08:00"), _item(recorded_at="2101-01-01T00:00:00+08:00"),
             _item(recorded_at="2000-01-01T00:00:00+00:00"), _item(recorded_at="2100-12-31T00:00:00+00:00")]
    body = client.post("/api/v1/checkins", json={"items": items}, headers=headers).get_json()
    refused = body["items"][:4]
    assert {(r["status"], r["http_status"], r["error"]["code"]) for r in refused} == {("error", 400, "validation_failed")}
    assert all(r["error"]["details"]["errors"][0]["message"].endswith("打卡时间须在 2000 年至 2100 年之间")
               for r in refused), refused
    assert [r["flags"] for r in body["items"][4:]] == [["stale"], ["future_time"]]


def test_border_within_accuracy_counts_as_own_grid(client, db_session):
    _, headers = _worker(db_session)
    # ~29 m east of GRID_A's eastern border, inside GRID_B.
    near = _flags(client, headers, lon=119.8903, lat=28.455, accuracy_m=50)
    assert (near["grid"], near["position"], near["in_own_grid"], near["flags"]) == (f.GRID_A, "near", True, [])
    far = _flags(client, headers, lon=119.8903, lat=28.455, accuracy_m=10)
    assert (far["grid"], far["position"], far["flags"]) == (f.GRID_B, "outside", ["outside_grid"])


def test_border_within_accuracy_in_the_far_north(client, db_session):
    """At 53°N a degree of longitude is 67 km, not 98 km as at Lishui: the degrees that prefilter
    the grids within the accuracy (box and planar distance) must widen with the latitude."""
    world, headers = _worker(db_session)
    mohe = "SRID=4326;MULTIPOLYGON(((122.50 52.96,122.52 52.96,122.52 52.98,122.50 52.98,122.50 52.96)))"  # 漠河
    db_session.execute(text("UPDATE grid_version SET geom = CAST(:g AS geometry) WHERE grid_id = :id"),
                       {"g": mohe, "id": world["grids"][f.GRID_A].id})
    # 40 m east of the eastern border (0.000596° of longitude there; 50 m / 110 km is 0.000455°)
    near = _flags(client, headers, lon=122.520596, lat=52.97, accuracy_m=50)
    assert (near["grid"], near["position"], near["in_own_grid"], near["flags"]) == (f.GRID_A, "near", True, [])
    far = _flags(client, headers, lon=122.520596, lat=52.97, accuracy_m=35, recorded_at=_at(-timedelta(hours=1)))
    assert (far["grid"], far["position"], far["flags"]) == (None, "outside", ["outside_grid"])


def test_a_supervisors_batch_ranks_own_grids_inside_then_nearest_then_another_grid(client, db_session):
    """A community supervisor's own grids are A and B (side by side): inside one of them beats
    near the other, the nearer of two within the accuracy wins (not the first by code), and
    outside both another community's grid containing the point is named."""
    f.lishui(db_session)
    headers = f.auth(f.token_for(db_session, "supervisor", f.COMMUNITY))
    items = [
        # inside B, ~29 m east of A's border: within the accuracy of A too
        _item(lon=119.8903, lat=28.455, accuracy_m=50, recorded_at=_at(-timedelta(hours=3))),
        # ~33 m north of B's top edge, ~59 m from A's corner: both within 70 m, B the nearer
        _item(lon=119.8905, lat=28.4603, accuracy_m=70, recorded_at=_at(-timedelta(hours=2))),
        _item(lon=119.935, lat=28.455, recorded_at=_at(-timedelta(hours=1))),  # in GRID_C
    ]
    response = client.post("/api/v1/checkins", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.get_json()
    answers = [(r["grid"], r["position"], r["in_own_grid"], r["flags"]) for r in response.get_json()["items"]]
    assert answers == [(f.GRID_B, "inside", True, []), (f.GRID_B, "near", True, []),
                       (f.GRID_C, "outside", False, ["outside_grid"])]


def test_gcj02_positions_are_converted_before_the_grid_check(client, db_session):
    _, headers = _worker(db_session)
    # WGS-84 (119.8885, 28.455) in GRID_A is (119.892927, 28.451584) in GCJ-02 — which,
    # read as WGS-84, would be GRID_B: the 400 m offset decides the grid.
    gcj = _flags(client, headers, lon=119.892927, lat=28.451584, crs="gcj02")
    assert gcj["grid"] == f.GRID_A and gcj["flags"] == []
    lon, lat = db_session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM checkin")).one()
    assert abs(lon - 119.8885) < 1e-6 and abs(lat - 28.455) < 1e-6
    naive = _flags(client, headers, lon=119.892927, lat=28.451584, recorded_at=_at(-timedelta(hours=1)))
    assert naive["grid"] == f.GRID_B and naive["flags"] == ["outside_grid"]


def test_a_batch_mixing_declared_crss_converts_each_and_refuses_an_unknown_one_per_item(client, db_session):
    _, headers = _worker(db_session)
    same_place = {"lon": 119.8885, "lat": 28.455}  # in GRID_A; (119.892927, 28.451584) in GCJ-02
    items = [_item(**same_place, recorded_at=_at(-timedelta(hours=4))),
             _item(lon=119.892927, lat=28.451584, crs="GCJ-02", recorded_at=_at(-timedelta(hours=3))),
             _item(crs="EPSG:999999"),
             _item(**same_place, crs="wgs84", recorded_at=_at(-timedelta(hours=2))),
             _item(crs="EPSG:999999")]
    response = client.post("/api/v1/checkins", json={"items": items}, headers=headers)
    assert response.status_code == 207
    results = response.get_json()["items"]
    assert [r["grid"] if r["status"] == "created" else r["error"]["code"] for r in results] == \
        [f.GRID_A, f.GRID_A, "invalid_crs", f.GRID_A, "invalid_crs"]
    stored = db_session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM checkin ORDER BY recorded_at")).all()
    assert len(stored) == 3 and all(abs(x - 119.8885) < 1e-5 and abs(y - 28.455) < 1e-5 for x, y in stored)


def test_grid_check_uses_the_version_valid_at_recorded_at(client, db_session):
    world, headers = _worker(db_session)
    grid = world["grids"][f.GRID_A]
    changed = datetime.now(UTC) - timedelta(days=1)
    version1 = db_session.get(GridVersion, (grid.id, 1))
    version1.valid_from = changed - timedelta(days=30)
    version1.valid_to = changed
    # Version 2 gives the western half away: (119.880–119.885) is no longer GRID_A.
    db_session.add(GridVersion(grid_id=grid.id, version=2, geom=multipolygon((119.885, 28.450, 119.890, 28.460)),
                               valid_from=changed))
    db_session.commit()
    # before the grid's first version: that first version (not none, nor a later one)
    earliest = _flags(client, headers, lon=119.888, lat=28.455,
                      recorded_at=(changed - timedelta(days=40)).isoformat())
    assert earliest["grid"] == f.GRID_A and "outside_grid" not in earliest["flags"]
    before = _flags(client, headers, lon=119.882, lat=28.455, recorded_at=(changed - timedelta(hours=3)).isoformat())
    assert before["grid"] == f.GRID_A and before["flags"] == []
    after = _flags(client, headers, lon=119.882, lat=28.455)
    assert after["grid"] is None and after["flags"] == ["outside_grid"]
    assert db_session.scalars(select(Checkin.grid_version).order_by(Checkin.recorded_at)).all() == [1, 1, None]


def test_checkin_roles_and_openapi(client, db_session):
    f.lishui(db_session)
    planner = f.auth(f.token_for(db_session, "planner", f.DISTRICT))
    assert client.post("/api/v1/checkins", json=_item(), headers=planner).status_code == 403
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/checkins"]
    assert "CheckinItem" in spec["components"]["schemas"]


def test_checkin_answers_are_written_as_jsonify_writes_them(app, client, db_session):
    """The answers are written by orjson (a batch's 500 cost jsonify 8 µs each): the same bytes
    as Flask's jsonify — keys sorted, Chinese as UTF-8, compact, a final newline."""
    _, headers = _worker(db_session)
    single = client.post("/api/v1/checkins", json=_item(note="巡查"), headers=headers)
    batch = client.post("/api/v1/checkins", json={"items": [_item(), _item(lon="x")]}, headers=headers)
    error = client.post("/api/v1/checkins", json=_item(crs="EPSG:9999"), headers=headers)
    assert (single.status_code, batch.status_code, error.status_code) == (201, 207, 422)
    assert "网格".encode() in single.data and b"\\u" not in single.data
    with app.app_context():
        for response in (single, batch, error):
            assert response.mimetype == "application/json"
            assert response.data == app.json.response(response.get_json()).data


def test_every_kind_of_answer_comes_back_the_same_on_a_resend(client, db_session):
    """The first answer is kept in checkin_key's columns and rebuilt for a re-send: inside, near
    (own grid), outside in another grid, in no grid, each flag, a household, a time with
    microseconds or none, given in another offset."""
    world, headers = _worker(db_session)
    f.household(db_session, "H-A9", 119.8851, 28.4551, world["grids"][f.GRID_A])
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    items = [
        _item(household_code="H-A9", recorded_at=(at + timedelta(minutes=1)).isoformat()),
        _item(lon=119.8903, accuracy_m=50, recorded_at=(at + timedelta(minutes=20)).astimezone(
            timezone(timedelta(hours=8))).isoformat()),                                      # near, own grid
        _item(lon=119.935, recorded_at=(at + timedelta(minutes=21, microseconds=5)).isoformat()),  # other grid, fast
        _item(lon=119.0, lat=28.0, accuracy_m=900, recorded_at=(at + timedelta(hours=2, minutes=50)).isoformat()),  # no grid
        _item(recorded_at=_at(timedelta(hours=2))),                                          # future
        _item(recorded_at=_at(-timedelta(days=10))),                                         # stale
    ]
    first = client.post("/api/v1/checkins", json={"items": items}, headers=headers).get_json()["items"]
    assert [(r["status"], r["position"], r["in_own_grid"]) for r in first] == [
        ("created", "inside", True), ("created", "near", True), ("created", "outside", False),
        ("created", "outside", False), ("created", "inside", True), ("created", "inside", True)]
    assert [r["flags"] for r in first] == [[], [], ["outside_grid", "impossible_speed"],
                                           ["outside_grid", "low_accuracy"], ["future_time"], ["stale"]]
    assert first[0]["household_code"] == "H-A9" and first[3]["grid"] is None and first[2]["grid"] == f.GRID_C
    assert first[1]["recorded_at"] == (at + timedelta(minutes=20)).isoformat()  # in UTC, as stored
    again = client.post("/api/v1/checkins", json={"items": items[::-1]}, headers=headers).get_json()["items"]
    assert again[::-1] == [{**r, "status": "duplicate", "index": 5 - r["index"]} for r in first]
    single = client.post("/api/v1/checkins", json=items[2], headers=headers)
    assert single.status_code == 200 and single.get_json() == {
        **{k: v for k, v in first[2].items() if k != "index"}, "status": "duplicate"}


def test_a_key_stored_before_the_answer_columns_answers_with_its_document(client, db_session):
    """Keys stored before migration 0041 hold their first answer as a document: a re-send gets it."""
    _, headers = _worker(db_session)
    item = _item()
    created = client.post("/api/v1/checkins", json=item, headers=headers).get_json()
    old = {**created, "grid_name": "旧名字"}
    db_session.execute(text("UPDATE checkin_key SET answer = CAST(:a AS jsonb), rank = NULL, grid = NULL, "
                            "grid_name = NULL, flags = NULL WHERE id = CAST(:id AS uuid)"),
                       {"a": json.dumps(old), "id": item["id"]})
    db_session.commit()
    again = client.post("/api/v1/checkins", json=item, headers=headers)
    assert again.status_code == 200 and again.get_json() == {**old, "status": "duplicate"}
