"""A catalogue of bad coordinates and geometries: each gets a clear 4xx, never a 500,
and nothing is written."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from gridmap.areas.models import Grid
from tests import factories as f

SQUARE = [[119.880, 28.460], [119.890, 28.460], [119.890, 28.465], [119.880, 28.465], [119.880, 28.460]]

BAD_GEOMETRIES = {
    "self_intersection": {"type": "Polygon", "coordinates": [[[119.88, 28.46], [119.89, 28.465], [119.89, 28.46],
                                                              [119.88, 28.465], [119.88, 28.46]]]},
    "unclosed_ring": {"type": "Polygon", "coordinates": [SQUARE[:-1]]},
    "too_short_ring": {"type": "Polygon", "coordinates": [[[119.88, 28.46], [119.89, 28.46], [119.88, 28.46]]]},
    "nan": {"type": "Polygon", "coordinates": [[[float("nan"), 28.46], *SQUARE[1:]]]},
    "infinity": {"type": "Polygon", "coordinates": [[[float("inf"), 28.46], *SQUARE[1:]]]},
    "swapped": {"type": "Polygon", "coordinates": [[[lat, lon] for lon, lat in SQUARE]]},
    "out_of_range": {"type": "Polygon", "coordinates": [[[lon + 300, lat] for lon, lat in SQUARE]]},
    "outside_china": {"type": "Polygon", "coordinates": [[[lon - 117.5, lat + 20] for lon, lat in SQUARE]]},
    "empty": {"type": "Polygon", "coordinates": []},
    "wrong_type": {"type": "Point", "coordinates": [119.885, 28.462]},
    "unknown_type": {"type": "Hexagon", "coordinates": [[1, 2]]},
    "string_coordinates": {"type": "Polygon", "coordinates": [[["119.88", "28.46"], *SQUARE[1:]]]},
    "huge": {"type": "Polygon", "coordinates": [[[119.88 + i * 1e-7, 28.46] for i in range(120_000)] + [[119.88, 28.46]]]},
    "null": None,
}


@pytest.mark.parametrize("name", BAD_GEOMETRIES)
def test_bad_grid_geometry_in_a_file_is_422_and_writes_nothing(client, db_session, name):
    f.lishui(db_session)
    token = f.token_for(db_session, "admin")
    feature = {"type": "Feature", "properties": {"编码": "331102001001009", "名称": "坏网格"},
               "geometry": BAD_GEOMETRIES[name]}
    body = json.dumps({"type": "FeatureCollection", "features": [feature]}, allow_nan=True).encode()
    before = db_session.scalar(select(func.count()).select_from(Grid))
    response = client.post("/api/v1/imports/areas", headers=f.auth(token), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(body), "bad.geojson"), "level": "grid"})
    assert response.status_code == 422, (name, response.get_json())
    error = response.get_json()["error"]
    assert error["message"] and error["details"]["errors"][0]["feature"] == 1
    assert db_session.scalar(select(func.count()).select_from(Grid)) == before


def test_three_d_coordinates_are_accepted_as_two_d(client, db_session):
    f.lishui(db_session)
    token = f.token_for(db_session, "admin")
    ring = [[lon, lat, 12.5] for lon, lat in SQUARE]
    feature = {"type": "Feature", "properties": {"编码": "331102001001009", "名称": "三维网格"},
               "geometry": {"type": "Polygon", "coordinates": [ring]}}
    response = client.post("/api/v1/imports/areas", headers=f.auth(token), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()),
                                          "g.geojson"), "level": "grid"})
    assert response.status_code == 200, response.get_json()
    assert db_session.scalar(select(func.ST_NDims(Grid.geom)).where(Grid.code == "331102001001009")) == 2


BAD_POINTS = [
    ("nan", "nan"), ("inf", "28.45"), ("119.885", "-inf"), ("28.455", "119.885"), ("500", "28"),
    ("", "28.45"), ("1e400", "28"), ("0x1F", "28"), ("119.885,1", "28.45"), ("[]", "{}"),
]


@pytest.mark.parametrize("lon, lat", BAD_POINTS)
def test_bad_points_to_locate_are_4xx(client, db_session, lon, lat):
    f.lishui(db_session)
    token = f.token_for(db_session, "admin")
    response = client.get("/api/v1/locate", query_string={"lon": lon, "lat": lat}, headers=f.auth(token))
    assert 400 <= response.status_code < 500 and response.get_json()["error"]["message"]


BAD_BODIES = [
    b"", b"null", b"[]", b"{", b'{"lon": "x"}', b'{"lon": NaN, "lat": 28.45}', b'{"lon": 1e999, "lat": 28}',
    b'"just a string"', b'{"lon": 119.885, "lat": 28.455, "crs": {"a": 1}}', b"\xff\xfe\x00",
    json.dumps({"lon": [[1] * 10] * 10, "lat": 28}).encode(),
]


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize("path, role, scope", [
    ("/api/v1/hazards", "grid_worker", f.GRID_A),
    ("/api/v1/checkins", "grid_worker", f.GRID_A),
    ("/api/v1/auth/token", "admin", ""),
])
def test_malformed_json_bodies_are_4xx(client, db_session, body, path, role, scope):
    f.lishui(db_session)
    token = f.token_for(db_session, role, scope)
    response = client.post(path, data=body, content_type="application/json", headers=f.auth(token))
    assert 400 <= response.status_code < 500, (path, body, response.status_code)
    assert response.get_json()["error"]["code"]


def test_checkin_with_hostile_values_gets_per_item_reasons(client, db_session):
    f.lishui(db_session)
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    now = datetime.now(UTC).isoformat()
    items = [
        {"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.455, "recorded_at": now, "accuracy_m": 10},
        {"id": str(uuid.uuid4()), "lon": 2.35, "lat": 48.85, "recorded_at": now, "accuracy_m": 10},
    ]
    response = client.post("/api/v1/checkins", json={"items": items}, headers=f.auth(token))
    assert response.status_code in (200, 207)
    statuses = [item["status"] for item in response.get_json()["items"]]
    assert statuses[0] == "created" and statuses[1] == "error"


@pytest.mark.parametrize("path, body", [
    ("/api/v1/auth/token", {"username": "a\u0000b", "password": "x"}),
    ("/api/v1/hazards", {"category": "消防", "severity": "normal", "description": "\u0000", "lon": 119.885, "lat": 28.455}),
])
def test_nul_characters_in_json_are_400(client, db_session, path, body):
    f.lishui(db_session)
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    response = client.post(path, json=body, headers=f.auth(token))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "nul_character"


def test_nul_after_an_area_code_in_an_api_path_matches_no_route(client, db_session):
    # An operation's <code> is digits (gridmap.apidoc.AreaCodeConverter): a grid worker's own prefix
    # then NUL reaches no handler at all.
    f.lishui(db_session)
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    response = client.get(f"/api/v1/grids/{f.GRID_A}%00", headers=f.auth(token))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", [
    f"/api/v1/grids/{f.GRID_A}/households?tag=%00",
    "/api/v1/party-members/1/households/%00",
    f"/maps/grid/{f.GRID_A}%00",
    "/maps/hazards?within=%00",
])
def test_nul_characters_in_the_url_are_400(client, db_session, path):
    f.lishui(db_session)
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    method = client.put if "/party-members/" in path else client.get
    response = method(path, headers=f.auth(token))
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "空字符" in response.get_data(as_text=True)


def test_nul_characters_in_a_csv_are_dropped(client, db_session):
    f.lishui(db_session)
    token = f.token_for(db_session, "admin")
    csv = "户号,地址,经度,纬度\nN-1,中山\u0000街,119.885,28.455\n".encode()
    response = client.post("/api/v1/imports/households", headers=f.auth(token), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(csv), "h.csv")})
    assert response.status_code == 200, response.get_json()
    assert client.get("/api/v1/locate?lon=119.885&lat=28.455", headers=f.auth(token)).status_code == 200


@pytest.mark.parametrize("path, raw, field", [
    ("/api/v1/auth/token", '{"username": "a\\ud800b", "password": "x"}', "username"),
    ("/api/v1/hazards", '{"category": "消防", "severity": "normal", "description": "\\udc00",'
                        ' "lon": 119.885, "lat": 28.455}', "description"),
])
def test_unpaired_surrogates_in_json_are_400(client, db_session, path, raw, field):
    f.lishui(db_session)
    token = f.token_for(db_session, "grid_worker", f.GRID_A)
    before = db_session.execute(text("SELECT count(*) FROM hazard")).scalar_one()
    response = client.post(path, data=raw, content_type="application/json", headers=f.auth(token))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_failed"
    assert [e["field"] for e in response.get_json()["error"]["details"]["errors"]] == [field]
    assert db_session.execute(text("SELECT count(*) FROM hazard")).scalar_one() == before  # nothing reported


def test_unpaired_surrogates_in_a_geojson_file_are_replaced(client, db_session):
    f.lishui(db_session)
    token = f.token_for(db_session, "admin")
    geojson = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point",'
               ' "coordinates": [119.885, 28.455]}, "properties": {"户号": "S-1", "地址": "中山\\ud800街"}}]}').encode()
    response = client.post("/api/v1/imports/households", headers=f.auth(token), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(geojson), "h.geojson")})
    assert response.status_code == 200, response.get_json()
    address = db_session.execute(text("SELECT address FROM household WHERE code = 'S-1'")).scalar_one()
    assert address == "中山\ufffd街"
