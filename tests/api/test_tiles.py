"""GET /tiles/<layer>/<z>/<x>/<y>.pbf: decoded with mapbox-vector-tile, geometry in the right tile
units for the Lishui test grids, properties, scope, ETag/304 and when the version changes."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from shapely.geometry import box, mapping, shape

from tests import factories as f

Z = 14
EXTENT = 4096


def tile_xy(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional tile column and row of a WGS-84 point (Web Mercator, rows from the top)."""
    n = 2 ** z
    x = (lon + 180) / 360 * n
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return x, y


def url(layer: str, lon: float, lat: float, z: int = Z) -> str:
    x, y = tile_xy(lon, lat, z)
    return f"/tiles/{layer}/{z}/{int(x)}/{int(y)}.pbf"


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def features(response, layer="grids") -> dict[str, dict]:
    assert response.status_code == 200, response.get_data()
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    tile = decode(response.data) if response.data else {}
    return {feat["properties"]["code"]: feat for feat in tile.get(layer, {}).get("features", [])}


GRID_A_URL = url("grids", 119.885, 28.455)


@pytest.fixture
def world(db_session):
    return f.lishui(db_session)


def get(client, token, path=GRID_A_URL, etag=None, **kwargs):
    headers = {**f.auth(token), **({"If-None-Match": etag} if etag else {})}
    return client.get(path, headers=headers, **kwargs)


def test_grid_a_lands_on_its_tile_units_with_its_properties(client, db_session, world):
    grids = world["grids"]
    f.household(db_session, "A1", 119.882, 28.455, grids[f.GRID_A])
    f.household(db_session, "A2", 119.886, 28.455, grids[f.GRID_A])
    db_session.commit()
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    got = features(get(client, token))
    assert f.GRID_A in got and f.GRID_C not in got  # C is two tiles east
    a = got[f.GRID_A]
    assert a["properties"] == {"code": f.GRID_A, "name": "城北社区第1网格", "community": f.COMMUNITY,
                               "households": 2, "target_min": 300, "target_max": 500, "fill": "under"}
    assert got[f.GRID_B]["properties"]["fill"] == "empty"
    # the grid's corners, in this tile's units (0..4096, y down), to within one unit
    x0, y0 = (int(v) for v in tile_xy(119.885, 28.455, Z))
    west, north = tile_xy(119.880, 28.460, Z)
    east, south = tile_xy(119.890, 28.450, Z)
    expected = [max(-64, (west - x0) * EXTENT), max(-64, (north - y0) * EXTENT),
                min(EXTENT + 64, (east - x0) * EXTENT), min(EXTENT + 64, (south - y0) * EXTENT)]
    bounds = shape(a["geometry"]).bounds
    assert all(abs(got_ - want) <= 1 for got_, want in zip(bounds, expected)), (bounds, expected)


def test_hazards_and_patrol_figures_when_asked(client, db_session, world):
    from gridmap.auth.scope import Scope
    from gridmap.hazards import service as hazards

    grids = world["grids"]
    f.household(db_session, "A1", 119.882, 28.455, grids[f.GRID_A])
    f.household(db_session, "A2", 119.886, 28.455, grids[f.GRID_A])
    db_session.commit()
    hazards.report(db_session, Scope.everything(), category="fire", severity="normal", description="消防通道堵塞",
                   lon=119.886, lat=28.456, crs=None)
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    plain = features(get(client, token))[f.GRID_A]["properties"]
    assert "hazards" not in plain and "coverage" not in plain
    asked = features(get(client, token, query_string={"hazards": "true", "patrol_month": "2026-01"}))
    props = asked[f.GRID_A]["properties"]
    assert props["hazards"] == 1 and props["per_1000"] == 500.0
    assert props["visited"] == 0 and props["coverage"] == 0.0
    assert "per_1000" not in asked[f.GRID_B]["properties"]  # no households: no rate (null is left out)
    old = features(get(client, token, query_string={"hazards_until": "2020-12-31"}))
    assert old[f.GRID_A]["properties"]["hazards"] == 0


@pytest.mark.parametrize("role, scope, visible", [
    ("grid_worker", f.GRID_A, {f.GRID_A}),
    ("supervisor", f.STREET, {f.GRID_A, f.GRID_B}),
    ("planner", f.OTHER_STREET, set()),
    ("grid_worker", f.GRID_C, set()),
])
def test_a_caller_sees_only_the_grids_of_their_scope(client, db_session, world, role, scope, visible):
    response = get(client, f.token_for(db_session, role, scope))
    assert set(features(response)) == visible


def test_a_within_filter_narrows_and_never_widens(client, db_session, world):
    token = f.token_for(db_session, "supervisor", f.STREET)
    assert set(features(get(client, token, query_string={"within": f.GRID_B}))) == {f.GRID_B}
    outside = get(client, token, query_string={"within": f.OTHER_STREET})
    assert outside.status_code == 200 and outside.data == b""


def test_login_is_required(client, world):
    assert client.get(GRID_A_URL).status_code == 401


def test_an_unchanged_tile_is_304_and_etags_differ_by_scope_and_query(client, db_session, world):
    token = f.token_for(db_session, "supervisor", f.STREET)
    first = get(client, token)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = get(client, token, etag=etag)
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    worker = f.token_for(db_session, "grid_worker", f.GRID_A)
    other = get(client, worker, etag=etag)
    assert other.status_code == 200 and other.headers["ETag"] != etag  # another scope, another tag
    asked = get(client, token, query_string={"hazards": "true"}, etag=etag)
    assert asked.status_code == 200 and asked.headers["ETag"] != etag


def test_the_version_changes_with_a_household_and_with_a_boundary_edit(client, db_session, world):
    token = f.token_for(db_session, "planner", f.STREET)
    etag = get(client, token).headers["ETag"]
    f.household(db_session, "A1", 119.882, 28.455, world["grids"][f.GRID_A])
    db_session.commit()
    after_household = get(client, token, etag=etag)
    assert after_household.status_code == 200
    assert features(after_household)[f.GRID_A]["properties"]["households"] == 1
    etag = after_household.headers["ETag"]
    edit = client.put(f"/api/v1/grids/{f.GRID_A}/geometry", headers=f.auth(token),
                      json={"geometry": mapping(box(119.881, 28.450, 119.890, 28.460)), "version": 1, "reason": "调整"})
    assert edit.status_code == 200, edit.get_json()
    after_edit = get(client, token, etag=etag)
    assert after_edit.status_code == 200 and after_edit.headers["ETag"] != etag


def test_an_empty_tile_is_an_empty_200_with_an_etag(client, db_session, world):
    token = f.token_for(db_session, "admin")
    response = get(client, token, url("grids", 100.0, 40.0))
    assert response.status_code == 200 and response.data == b"" and response.headers["ETag"]
    assert get(client, token, url("grids", 100.0, 40.0),
               etag=response.headers["ETag"]).status_code == 304


@pytest.mark.parametrize("path", [
    "/tiles/grids/23/0/0.pbf", "/tiles/grids/2/4/0.pbf", "/tiles/grids/2/0/4.pbf", "/tiles/roads/2/0/0.pbf",
    "/tiles/grids/99999999999999999999/0/0.pbf", "/tiles/grids/-1/0/0.pbf", "/tiles/grids/a/0/0.pbf",
    "/tiles/grids/2/0/0.png",
])
def test_a_tile_that_does_not_exist_is_404(client, db_session, world, path):
    response = get(client, f.token_for(db_session, "admin"), path)
    assert response.status_code == 404 and response.get_json()["error"]["code"] in ("tile_not_found", "not_found")


def test_a_bad_query_is_400(client, db_session, world):
    response = get(client, f.token_for(db_session, "admin"), query_string={"patrol_month": "2026-13"})
    assert response.status_code == 400


@pytest.mark.parametrize("z, levels", [(10, {"district"}), (12, {"district", "street"}),
                                       (14, {"street", "community"})])
def test_the_areas_layer_shows_levels_by_zoom(client, db_session, world, z, levels):
    token = f.token_for(db_session, "admin")
    got = features(get(client, token, url("areas", 119.885, 28.455, z)), "areas")
    assert {feat["properties"]["level"] for feat in got.values()} == levels
    assert all(set(feat["properties"]) == {"code", "name", "level"} for feat in got.values())


def test_the_grid_list_searches_by_code_start_or_name(client, db_session, world):
    token = f.token_for(db_session, "supervisor", f.STREET)

    def codes(q):
        body = client.get("/api/v1/grids", query_string={"q": q}, headers=f.auth(token)).get_json()
        return {feat["properties"]["code"] for feat in body["features"]}

    assert codes("第2网格") == {f.GRID_B}
    assert codes(f.GRID_A) == {f.GRID_A}
    assert codes("331102002") == set()  # grid C is outside the caller's street
    assert codes("%") == set()  # taken literally


def corners_in_tile(z: int, west_lon: float, north_lat: float, east_lon: float, south_lat: float) -> list[float]:
    """A box's bounds in the units of the tile holding (119.885, 28.455) at ``z``, clipped to its buffer."""
    x0, y0 = (int(v) for v in tile_xy(119.885, 28.455, z))
    west, north = tile_xy(west_lon, north_lat, z)
    east, south = tile_xy(east_lon, south_lat, z)
    return [max(-64, (west - x0) * EXTENT), max(-64, (north - y0) * EXTENT),
            min(EXTENT + 64, (east - x0) * EXTENT), min(EXTENT + 64, (south - y0) * EXTENT)]


@pytest.mark.parametrize("z", [8, 11, 12, 13, 14, 17])  # each stored outline (≤ 11, 12-13) and the projected one
def test_grid_a_keeps_its_corners_at_every_zoom(client, db_session, world, z):
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    a = features(get(client, token, path=url("grids", 119.885, 28.455, z)))[f.GRID_A]
    bounds = shape(a["geometry"]).bounds
    expected = corners_in_tile(z, 119.880, 28.460, 119.890, 28.450)
    assert all(abs(got_ - want) <= 1 for got_, want in zip(bounds, expected)), (bounds, expected)


@pytest.mark.parametrize("z", [11, 13])
def test_a_new_outline_reaches_the_stored_tile_outlines(client, db_session, world, z):
    from sqlalchemy import text

    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    path = url("grids", 119.885, 28.455, z)
    before = get(client, token, path=path)
    db_session.execute(text("UPDATE grid SET geom = ST_Multi(ST_MakeEnvelope(119.882, 28.452, 119.888, 28.458, 4326)),"
                            " version = version + 1, updated_at = now() WHERE code = :code"), {"code": f.GRID_A})
    db_session.commit()
    after = get(client, token, path=path, etag=before.headers["ETag"])
    bounds = shape(features(after)[f.GRID_A]["geometry"]).bounds
    expected = corners_in_tile(z, 119.882, 28.458, 119.888, 28.452)
    assert all(abs(got_ - want) <= 1 for got_, want in zip(bounds, expected)), (bounds, expected)


def test_tiles_are_gzipped_for_clients_that_accept_it_with_a_weak_etag(client, db_session, world, monkeypatch):
    import gzip

    from gridmap.tiles import api

    monkeypatch.setattr(api, "GZIP_MIN_BYTES", 1)  # the test grids' tile is small
    token = f.token_for(db_session, "supervisor", f.DISTRICT)
    plain = get(client, token)
    assert "Content-Encoding" not in plain.headers and not plain.headers["ETag"].startswith("W/")
    zipped = client.get(GRID_A_URL, headers={**f.auth(token), "Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] == "W/" + plain.headers["ETag"]
    for etag in (zipped.headers["ETag"], plain.headers["ETag"]):  # either form of the tag is current
        again = client.get(GRID_A_URL, headers={**f.auth(token), "Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == zipped.headers["ETag"]
    monkeypatch.setattr(api, "GZIP_MIN_BYTES", 10 ** 6)
    small = client.get(GRID_A_URL, headers={**f.auth(token), "Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers and small.data == plain.data
