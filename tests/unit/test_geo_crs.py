"""gridmap.geo.crs: CRS names, GCJ-02 / BD-09 / EPSG conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from gridmap.geo.crs import (
    CrsError,
    bd09_to_gcj02,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geometry_from_wgs84,
    geometry_to_wgs84,
    parse_crs,
    to_wgs84,
    wgs84_to_gcj02,
)
from gridmap.messages import message

EARTH_RADIUS_M = 6371008.8


def distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Haversine distance in metres."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


# --- parse_crs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, "wgs84"),
        ("", "wgs84"),
        ("  ", "wgs84"),
        ("wgs84", "wgs84"),
        ("WGS84", "wgs84"),
        ("wgs-84", "wgs84"),
        ("WGS_84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("bd09ll", "bd09"),
        ("cgcs2000", "EPSG:4490"),
        ("CGCS2000", "EPSG:4490"),
        ("epsg:4490", "EPSG:4490"),
        ("EPSG:4547", "EPSG:4547"),
        (" EPSG:3857 ", "EPSG:3857"),
    ],
)
def test_parse_crs_normalises(value, expected):
    assert parse_crs(value) == expected


@pytest.mark.parametrize("value", ["4547", "4326", "mars", "EPSG:", "EPSG:999999", "EPSG:5773", "EPSG:abc", "wgs84x"])
def test_parse_crs_rejects_unknown(value):
    with pytest.raises(CrsError) as info:
        parse_crs(value)
    assert info.value.crs == value
    assert isinstance(info.value, ValueError)
    assert info.value.code == "invalid_crs"
    assert value in message(info.value.code, **info.value.params)


def test_parse_crs_rejects_non_strings():
    with pytest.raises(CrsError) as info:
        parse_crs(4326)  # type: ignore[arg-type]
    assert info.value.crs == 4326


def test_conversions_validate_the_crs():
    with pytest.raises(CrsError):
        to_wgs84(119.9, 28.4, "mars")
    with pytest.raises(CrsError):
        geometry_from_wgs84(shapely.Point(119.9, 28.4), "EPSG:999999")


# --- published reference points ------------------------------------------------------

# (wgs lat, wgs lon, gcj lat, gcj lon): the eviltransform test vectors (Shanghai,
# Shenzhen, Beijing), also used by many ports of it.
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize("wlat, wlon, glat, glon", EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_published_vectors(wlat, wlon, glat, glon):
    lon, lat = from_wgs84(wlon, wlat, "gcj02")
    assert float(lon) == pytest.approx(glon, abs=1e-9)
    assert float(lat) == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize("wlat, wlon, glat, glon", EVILTRANSFORM)
def test_gcj02_to_wgs84_inverts_published_vectors_exactly(wlat, wlon, glat, glon):
    lon, lat = to_wgs84(glon, glat, "gcj02")
    assert distance_m(lon, lat, wlon, wlat) < 0.01


def test_coordtransform_readme_vectors():
    # wandergis/coordtransform README, input (116.404, 39.915).
    assert np.allclose(wgs84_to_gcj02(116.404, 39.915), (116.41024449916938, 39.91640428150164), atol=1e-9)
    assert np.allclose(gcj02_to_bd09(116.404, 39.915), (116.41036949371029, 39.92133699351021), atol=1e-9)
    assert np.allclose(from_wgs84(116.404, 39.915, "bd09"), (116.41662724378733, 39.922699552216216), atol=1e-9)
    # The README's BD-09 -> GCJ-02 is the one-step closed form; ours is refined, so it
    # agrees to ~0.2 m and inverts gcj02_to_bd09 far better than the closed form.
    glon, glat = bd09_to_gcj02(116.404, 39.915)
    assert np.allclose((glon, glat), (116.39762729119315, 39.90865673957631), atol=5e-6)
    blon, blat = gcj02_to_bd09(glon, glat)
    assert distance_m(blon, blat, 116.404, 39.915) < 0.005
    # The README's GCJ-02 -> WGS-84 is the one-step approximation (metres off);
    # ours is the exact inverse, so it must differ from it yet round-trip exactly.
    wlon, wlat = gcj02_to_wgs84(116.404, 39.915)
    assert 0.05 < distance_m(wlon, wlat, 116.39775550083061, 39.91359571849836) < 5
    assert np.allclose(wgs84_to_gcj02(wlon, wlat), (116.404, 39.915), atol=1e-9)


def test_gcj_offset_near_beijing_is_a_few_hundred_metres():
    # Tiananmen, WGS-84.
    lon, lat = 116.391275, 39.906217
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert 300 < distance_m(lon, lat, glon, glat) < 700
    assert glon > lon and glat > lat  # shifted north-east around Beijing


def test_bd09_is_further_shifted_than_gcj02():
    lon, lat = 119.92, 28.45  # Lishui
    glon, glat = from_wgs84(lon, lat, "gcj02")
    blon, blat = from_wgs84(lon, lat, "bd09")
    assert 500 < distance_m(glon, glat, blon, blat) < 1500
    assert distance_m(lon, lat, blon, blat) > distance_m(lon, lat, glon, glat)


# --- round trips ---------------------------------------------------------------------

NAMED = {
    "Lishui": (119.92, 28.45),
    "Linyi": (118.35, 35.10),
    "Changchun": (125.32, 43.82),
    "Beijing": (116.391275, 39.906217),
    "Urumqi": (87.62, 43.83),
    "Lhasa": (91.13, 29.65),
    "Haikou": (110.35, 20.02),
    "Harbin": (126.53, 45.80),
}


def china_grid() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(73.5, 135.0, 124), np.linspace(18.2, 53.5, 72))
    named = np.array(list(NAMED.values()))
    return np.concatenate([lon.ravel(), named[:, 0]]), np.concatenate([lat.ravel(), named[:, 1]])


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_round_trip_across_china_is_within_a_centimetre(crs):
    lon, lat = china_grid()
    x, y = from_wgs84(lon, lat, crs)
    assert distance_m(lon, lat, x, y).min() > 20  # really shifted everywhere in China
    back_lon, back_lat = to_wgs84(x, y, crs)
    err = distance_m(lon, lat, back_lon, back_lat)
    assert err.max() < 0.01, f"max round-trip error {err.max():.4f} m"


@pytest.mark.parametrize("name", sorted(NAMED))
def test_round_trip_named_cities(name):
    lon, lat = NAMED[name]
    back = to_wgs84(*from_wgs84(lon, lat, "gcj02"), "gcj02")
    assert distance_m(lon, lat, *back) < 0.001


def test_one_step_inverse_would_not_be_accurate_enough():
    # Guards the iteration: g - delta(g) alone is metres off somewhere in China.
    lon, lat = china_grid()
    glon, glat = wgs84_to_gcj02(lon, lat)
    dlon, dlat = glon - lon, glat - lat  # offset at the WGS point
    from gridmap.geo.crs import _gcj_delta

    slon, slat = _gcj_delta(glon, glat)  # offset at the GCJ point (one-step inverse)
    one_step = distance_m(lon, lat, glon - slon, glat - slat)
    assert one_step.max() > 1.0
    assert np.allclose((dlon, dlat), _gcj_delta(lon, lat), atol=1e-12)


def test_fast_offset_matches_published_formula():
    from gridmap.geo.crs import _gcj_delta, _gcj_delta_reference

    rng = np.random.default_rng(7)
    lon = rng.uniform(72.0, 138.0, 20000)
    lat = rng.uniform(0.8, 56.0, 20000)
    fast = _gcj_delta(lon, lat)
    ref = _gcj_delta_reference(lon, lat)
    assert np.abs(fast[0] - ref[0]).max() < 1e-13
    assert np.abs(fast[1] - ref[1]).max() < 1e-13


@pytest.mark.parametrize(
    "lon, lat",
    [(-0.1246, 51.5007), (-74.0060, 40.7128), (139.7454, 35.6586), (151.2093, -33.8688), (37.6173, 55.9)],
)
@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_outside_china_gcj_is_wgs(lon, lat, crs):
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert (float(glon), float(glat)) == (lon, lat)
    back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
    assert distance_m(lon, lat, *back) < 0.01


# --- EPSG ----------------------------------------------------------------------------


def test_epsg_4547_gauss_kruger_cm_114e():
    # On the central meridian x is the false easting; y is the meridian arc length
    # from the equator to 30 N on the CGCS2000 ellipsoid (3 320 113.4 m).
    x, y = from_wgs84(114.0, 30.0, "EPSG:4547")
    assert float(x) == pytest.approx(500000.0, abs=1e-3)
    assert float(y) == pytest.approx(3320113.4, abs=0.5)
    lon, lat = to_wgs84(500000.0, 3320113.398, "EPSG:4547")
    assert (float(lon), float(lat)) == pytest.approx((114.0, 30.0), abs=1e-7)
    x_east, _ = from_wgs84(115.0, 30.0, "EPSG:4547")
    assert 95000 < float(x_east) - 500000 < 97000  # ~96.5 km per degree at 30 N


def test_epsg_projected_round_trip_lishui():
    for crs in ("EPSG:4547", "EPSG:4549"):
        x, y = from_wgs84(119.92, 28.45, crs)
        assert float(y) > 3_000_000
        assert distance_m(119.92, 28.45, *to_wgs84(x, y, crs)) < 0.001


def test_epsg_4490_is_practically_wgs84():
    lon, lat = china_grid()
    x, y = to_wgs84(lon, lat, "EPSG:4490")
    assert np.abs(x - lon).max() < 1e-6 and np.abs(y - lat).max() < 1e-6
    x, y = to_wgs84(lon, lat, "cgcs2000")
    assert np.abs(x - lon).max() < 1e-6


def test_web_mercator():
    x, y = from_wgs84(119.92, 28.45, "EPSG:3857")
    assert float(x) == pytest.approx(119.92 * math.pi / 180 * 6378137, rel=1e-9)
    assert distance_m(119.92, 28.45, *to_wgs84(x, y, "EPSG:3857")) < 0.001


# --- NaN, shapes, inputs -------------------------------------------------------------


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09", "EPSG:4490", "EPSG:4547"])
def test_nan_in_nan_out(crs):
    lon = np.array([np.nan, 119.92, 119.92, np.inf])
    lat = np.array([28.45, np.nan, 28.45, 28.45])
    if crs == "EPSG:4547":
        lon, lat = from_wgs84(lon, lat, crs)
    x, y = to_wgs84(lon, lat, crs)
    assert np.isnan(x[0]) and np.isnan(y[1])
    assert np.isfinite(x[2]) and np.isfinite(y[2])
    x, y = from_wgs84(np.array([np.nan]), np.array([np.nan]), crs)
    assert np.isnan(x[0]) and np.isnan(y[0])


def test_shapes_and_inputs_are_preserved():
    lon = np.array([[119.92, 118.35], [125.32, 116.39]])
    lat = np.array([[28.45, 35.10], [43.82, 39.90]])
    x, y = to_wgs84(lon, lat, "gcj02")
    assert x.shape == (2, 2) and y.shape == (2, 2)
    x0, y0 = to_wgs84(119.92, 28.45, "gcj02")
    assert np.ndim(x0) == 0 and float(x0) == pytest.approx(x[0, 0])
    lx, ly = to_wgs84([119.92, 118.35], [28.45, 35.10], "bd09")
    assert lx.shape == (2,)
    # The input arrays are not modified in place.
    assert lon[0, 0] == 119.92
    x, y = to_wgs84(lon, lat, "wgs84")
    x[0, 0] = 0
    assert lon[0, 0] == 119.92


def test_to_wgs84_empty_arrays():
    x, y = to_wgs84(np.array([]), np.array([]), "gcj02")
    assert x.size == 0 and y.size == 0


# --- geometries ----------------------------------------------------------------------

LISHUI_SQUARE = shapely.Polygon([(119.90, 28.43), (119.95, 28.43), (119.95, 28.48), (119.90, 28.48)])


def test_geometry_to_wgs84_converts_every_vertex():
    gcj = LISHUI_SQUARE
    wgs = geometry_to_wgs84(gcj, "gcj02")
    src = shapely.get_coordinates(gcj)
    expected = np.column_stack(to_wgs84(src[:, 0], src[:, 1], "gcj02"))
    assert np.allclose(shapely.get_coordinates(wgs), expected, atol=1e-12)
    assert wgs.geom_type == "Polygon" and wgs.is_valid
    # The GCJ-02 -> WGS-84 shift around Lishui is south-west by a few hundred metres.
    assert 200 < distance_m(*gcj.centroid.coords[0], *wgs.centroid.coords[0]) < 800


def test_geometry_round_trip_arrays_keep_none_and_drop_z():
    arr = np.array([LISHUI_SQUARE, None, shapely.Point(119.92, 28.45, 12.0)], dtype=object)
    shown = geometry_from_wgs84(arr, "gcj02")
    assert shown[1] is None
    assert not shapely.has_z(shown[2])
    back = geometry_to_wgs84(shown, "gcj02")
    assert shapely.equals_exact(back[0], LISHUI_SQUARE, tolerance=1e-9)
    assert distance_m(119.92, 28.45, back[2].x, back[2].y) < 0.001


def test_geometry_wgs84_is_returned_unchanged():
    assert geometry_to_wgs84(LISHUI_SQUARE, None) is LISHUI_SQUARE
    assert geometry_from_wgs84(LISHUI_SQUARE, "EPSG:4326") is LISHUI_SQUARE


def test_geometry_epsg():
    projected = geometry_from_wgs84(LISHUI_SQUARE, "EPSG:4549")
    assert projected.bounds[0] > 400000
    assert shapely.equals_exact(geometry_to_wgs84(projected, "EPSG:4549"), LISHUI_SQUARE, tolerance=1e-8)
