"""The heatmap's cells are counted in the database; checked against a hand count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridmap.auth.scope import Scope
from gridmap.hazards import service
from gridmap.hazard_stats.cells import MAX_CELLS_PER_SIDE, cell_level, cell_size
from tests import factories as f


@pytest.fixture
def world(db_session, monkeypatch):
    # These users only ever use bearer tokens: skip the deliberately slow password hash.
    monkeypatch.setattr("gridmap.auth.service.hash_password", lambda password: "unusable")
    f.lishui(db_session)
    return {"admin": f.token_for(db_session, "admin"),
            "street": f.token_for(db_session, "supervisor", f.STREET)}


def test_cell_size_follows_zoom_and_is_capped_by_the_bbox():
    assert cell_size(14) == pytest.approx(360 / 2 ** 14 / 16, rel=1e-4)
    assert cell_size(15) == pytest.approx(cell_size(14) / 2, rel=1e-4)
    city = (119.0, 28.0, 121.0, 29.0)
    # Capped to the next coarser zoom's size: at most MAX_CELLS_PER_SIDE cells, at least half that.
    capped = cell_size(18, city)
    assert cell_level(18, city) == 10 and capped == cell_size(10)  # 160 cells of zoom 11 would not span 2°
    assert 2.0 / MAX_CELLS_PER_SIDE <= capped < 2 * 2.0 / MAX_CELLS_PER_SIDE


def test_heatmap_matches_a_hand_count(client, db_session, world):
    size = cell_size(14)
    admin = Scope.everything()
    # Cell centres (multiples of the cell size) inside grid A (119.880–119.890, 28.450–28.460) and grid C.
    ix, iy = round(119.884 / size), round(28.454 / size)
    cx, cy = round(119.930 / size), round(28.450 / size)
    placed = {(iy, ix): 3, (iy + 1, ix): 2, (iy, ix + 2): 1, (cy, cx): 4}
    offsets = [(0.1, -0.2), (-0.3, 0.25), (0.2, 0.2), (-0.1, -0.1)]
    for (gy, gx), count in placed.items():
        for k in range(count):
            dx, dy = offsets[k % len(offsets)]
            service.report(db_session, admin, category="fire" if k else "noise", severity="normal", description="",
                           lon=(gx + dx) * size, lat=(gy + dy) * size, crs=None)
    service.report(db_session, admin, category="fire", severity="normal", description="去年的",
                   lon=ix * size, lat=iy * size, crs=None, now=datetime(2026, 1, 5, 2, tzinfo=UTC))

    def cells(url, token="admin"):
        body = client.get(url, headers=f.auth(world[token])).get_json()
        return {(round(lat / size), round(lon / size)): n for lat, lon, n in body["cells"]}, body

    got, body = cells("/api/v1/hazards/heatmap?zoom=14&since=2026-06-01T00:00:00%2B08:00")
    assert got == placed and body["total"] == 10 and body["cell_size"] == pytest.approx(size)
    everything, _ = cells("/api/v1/hazards/heatmap?zoom=14")
    assert everything[(iy, ix)] == 4
    fire_only, _ = cells("/api/v1/hazards/heatmap?zoom=14&category=消防&since=2026-06-01T00:00:00%2B08:00")
    assert fire_only == {(iy, ix): 2, (iy + 1, ix): 1, (cy, cx): 3}
    # The street supervisor sees only grid A's cells; a bbox keeps only what it covers.
    scoped, _ = cells("/api/v1/hazards/heatmap?zoom=14&since=2026-06-01T00:00:00%2B08:00", token="street")
    assert scoped == {k: v for k, v in placed.items() if k != (cy, cx)}
    boxed, _ = cells("/api/v1/hazards/heatmap?zoom=14&bbox=119.92,28.44,119.95,28.47")
    assert boxed == {(cy, cx): 4}


def test_heatmap_bad_input_is_a_400(client, world):
    headers = f.auth(world["admin"])
    assert client.get("/api/v1/hazards/heatmap?zoom=40", headers=headers).status_code == 400
    assert client.get("/api/v1/hazards/heatmap?bbox=1,2,3", headers=headers).status_code == 400
    assert client.get("/api/v1/hazards/heatmap?since=nope", headers=headers).status_code == 400
    assert client.get("/api/v1/hazards/heatmap").status_code == 401
    # far-off years (they overflowed the pyramid's periods: a 500) are refused, on every time filter
    for path in ("/api/v1/hazards/heatmap", "/api/v1/hazards/grid-density", "/api/v1/hazards"):
        for since in ("9999-06-01T00:00:00%2B08:00", "0001-01-01T00:00:00%2B08:00"):
            response = client.get(f"{path}?since={since}", headers=headers)
            assert response.status_code == 400 and response.get_json()["error"]["code"] == "validation_failed"


def test_a_time_without_an_offset_is_beijing_time(client, db_session, world):
    admin = Scope.everything()
    # 2026-06-01 07:30 Beijing time, 2026-05-31 23:30 UTC
    service.report(db_session, admin, category="fire", severity="normal", description="", lon=119.885, lat=28.455,
                   crs=None, now=datetime(2026, 5, 31, 23, 30, tzinfo=UTC))
    headers = f.auth(world["admin"])
    for path in ("/api/v1/hazards/heatmap?zoom=14", "/api/v1/hazards/heatmap?zoom=14&display=gcj02"):
        # (naive since: it was a 500 when compared with the pyramid's Beijing-time periods)
        after = client.get(f"{path}&since=2026-06-01T00:00:00", headers=headers)
        assert after.status_code == 200 and after.get_json()["total"] == 1, after.get_json()
        before = client.get(f"{path}&until=2026-06-01T07:00:00", headers=headers).get_json()
        assert before["total"] == 0


def test_grid_density_per_thousand_households(client, db_session, world):
    from gridmap.areas.models import Grid

    grids = {g.code: g for g in db_session.query(Grid)}
    for i in range(4):
        f.household(db_session, f"D{i}", 119.882 + i * 0.001, 28.452, grids[f.GRID_A])
    admin = Scope.everything()
    for k in range(3):
        service.report(db_session, admin, category="fire" if k else "noise", severity="normal", description="",
                       lon=119.885, lat=28.455 + k * 0.001, crs=None)
    service.report(db_session, admin, category="fire", severity="normal", description="", lon=119.93, lat=28.45,
                   crs=None)

    def density(url, token="admin"):
        body = client.get(url, headers=f.auth(world[token])).get_json()
        return {ft["properties"]["code"]: ft["properties"] for ft in body["features"]}

    all_grids = density("/api/v1/hazards/grid-density")
    assert (all_grids[f.GRID_A]["hazards"], all_grids[f.GRID_A]["households"]) == (3, 4)
    assert all_grids[f.GRID_A]["per_1000"] == 750.0
    assert all_grids[f.GRID_C]["hazards"] == 1 and all_grids[f.GRID_C]["per_1000"] is None  # no households
    assert density("/api/v1/hazards/grid-density?category=fire")[f.GRID_A]["per_1000"] == 500.0
    assert density("/api/v1/hazards/grid-density?since=2099-01-01T00:00:00%2B08:00")[f.GRID_A]["hazards"] == 0
    assert set(density("/api/v1/hazards/grid-density", token="street")) == {f.GRID_A, f.GRID_B}
    for url in ("/api/v1/hazards/grid-density?category=无此类别", "/api/v1/hazards/heatmap?category=无此类别"):
        unknown = client.get(url, headers=f.auth(world["admin"]))
        assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "hazard_category_unknown"


def test_grid_density_is_shifted_for_a_gaode_basemap(client, db_session, world):
    """The choropleth is drawn on the page's basemap: with display=gcj02 (a Gaode map) every grid's
    outline comes in GCJ-02, as the heatmap's cells and the other layers (gridmap/maps/display)."""
    import numpy as np
    from shapely.geometry import shape

    from gridmap.geo.crs import from_wgs84

    service.report(db_session, Scope.everything(), category="fire", severity="normal", description="", lon=119.885,
                   lat=28.455, crs=None)
    headers = f.auth(world["admin"])

    def outlines(url):
        body = client.get(url, headers=headers).get_json()
        return {ft["properties"]["code"]: (shape(ft["geometry"]), ft["properties"]) for ft in body["features"]}

    plain = outlines("/api/v1/hazards/grid-density")
    shifted = outlines("/api/v1/hazards/grid-density?display=gcj02")
    assert outlines("/api/v1/hazards/grid-density?display=wgs84").keys() == plain.keys() == shifted.keys()
    for code, (geom, props) in plain.items():
        moved, moved_props = shifted[code]
        assert moved_props == props  # the figures do not change, only where they are drawn
        xy = np.asarray(geom.exterior.coords if geom.geom_type == "Polygon" else geom.geoms[0].exterior.coords)
        got = np.asarray(moved.exterior.coords if moved.geom_type == "Polygon" else moved.geoms[0].exterior.coords)
        lon, lat = from_wgs84(xy[:, 0], xy[:, 1], "gcj02")
        assert np.allclose(got, np.column_stack([lon, lat]), rtol=0, atol=2e-6), code
        assert not np.allclose(got, xy, rtol=0, atol=1e-4), code  # really moved (hundreds of metres)
    assert client.get("/api/v1/hazards/grid-density?display=bd09", headers=headers).status_code == 400
