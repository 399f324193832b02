"""gridmap.geo.validate: point checks, polygon checks."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gridmap.geo.validate import (
    Problem,
    as_multipolygon,
    check_points,
    check_polygon,
    check_polygons,
    parse_coordinates,
)
from gridmap.messages import MESSAGES

POLYGONS = {"Polygon", "MultiPolygon"}
# A grid-sized square in Liandu district, Lishui.
SQUARE = [[119.90, 28.43], [119.95, 28.43], [119.95, 28.48], [119.90, 28.48], [119.90, 28.43]]
HOLE = [[119.92, 28.45], [119.93, 28.45], [119.93, 28.46], [119.92, 28.45]]


def codes(problems) -> list:
    return [None if p is None else p.code for p in problems]


def test_problem_message_and_dict():
    p = Problem("coordinate_outside_china", {"lon": 2.35, "lat": 48.85})
    assert p.message == "坐标（2.35, 48.85）不在中国境内。"
    assert p.to_dict() == {
        "code": "coordinate_outside_china",
        "message": p.message,
        "params": {"lon": 2.35, "lat": 48.85},
    }
    assert Problem("geometry_empty").to_dict() == {"code": "geometry_empty", "message": "几何图形为空。"}


# --- check_points --------------------------------------------------------------------


def test_check_points_classifies_each_row():
    rows = [
        (119.92, 28.45, None),  # Lishui
        (118.35, 35.10, None),  # Linyi
        (np.nan, 28.45, "coordinate_not_number"),
        (119.92, np.inf, "coordinate_not_number"),
        (28.45, 119.92, "coordinate_swapped"),  # lat > 90, swapped lands in Lishui
        (40.0, 80.0, "coordinate_swapped"),  # in range, but swapped is Xinjiang
        (200.0, 28.45, "coordinate_out_of_range"),
        (11992000.0, 2845000.0, "coordinate_out_of_range"),  # projected metres
        (-0.1246, 51.5007, "coordinate_outside_china"),  # London
        (0.0, 0.0, "coordinate_outside_china"),
        (139.69, 35.69, "coordinate_outside_china"),  # Tokyo
    ]
    lon = np.array([r[0] for r in rows])
    lat = np.array([r[1] for r in rows])
    result = check_points(lon, lat)
    assert result.dtype == object and result.shape == (len(rows),)
    assert codes(result) == [r[2] for r in rows]
    for p in result:
        if p is not None:
            assert p.code in MESSAGES


def test_check_points_params_are_the_given_values_rounded():
    result = check_points(np.array([28.123456789, 2.3522219]), np.array([119.987654321, 48.856614]))
    assert result[0].params == {"lon": 28.123457, "lat": 119.987654}
    assert "经度 28.123457，纬度 119.987654" in result[0].message
    assert result[1].params == {"lon": 2.352222, "lat": 48.856614}


def test_check_points_all_good_returns_nones():
    rng = np.random.default_rng(3)
    lon = rng.uniform(119.90, 119.95, 1000)
    lat = rng.uniform(28.43, 28.48, 1000)
    result = check_points(lon, lat)
    assert result.shape == (1000,)
    assert all(p is None for p in result)


def test_check_points_bbox_edges_and_shapes():
    result = check_points([73.4, 135.1, 73.39], [18.1, 53.6, 30.0])
    assert codes(result) == [None, None, "coordinate_outside_china"]
    two_d = check_points(np.array([[119.9, 0.0]]), np.array([[28.4, 0.0]]))
    assert two_d.shape == (1, 2)
    assert codes(two_d.ravel()) == [None, "coordinate_outside_china"]
    with pytest.raises(ValueError):
        check_points([1.0, 2.0], [1.0])


def test_parse_coordinates_from_strings():
    lon, lat, problems = parse_coordinates(
        ["119.92", " 119.93 ", "", "abc", "nan", "119.9", None, "1e999", "119.95"],
        ["28.45", "28.46", "28.4", "28.4", "28.4", "  ", "28.4", "28.4", "inf"],
    )
    assert codes(problems) == [
        None,
        None,
        "coordinate_missing",
        "coordinate_not_number",
        "coordinate_not_number",
        "coordinate_missing",
        "coordinate_missing",
        "coordinate_not_number",
        "coordinate_not_number",
    ]
    assert lon[:2].tolist() == [119.92, 119.93]
    assert lat[:2].tolist() == [28.45, 28.46]
    assert np.isnan(lon[2:]).all() and np.isnan(lat[2:]).all()


# --- check_polygon(s) ----------------------------------------------------------------


def test_valid_polygon_passes():
    assert check_polygon(shapely.Polygon(SQUARE, [HOLE])) is None
    assert check_polygon(shapely.MultiPolygon([shapely.Polygon(SQUARE)])) is None


def test_self_intersection_reports_location():
    bowtie = shapely.Polygon([(119.90, 28.43), (119.95, 28.48), (119.95, 28.43), (119.90, 28.48), (119.90, 28.43)])
    problem = check_polygon(bowtie)
    assert problem.code == "self_intersection"
    assert problem.params == {"lon": 119.925, "lat": 28.455}
    assert problem.message == "多边形自相交，位置约在 (119.925, 28.455)。"


def test_other_invalidity_has_chinese_reason():
    hole_outside = shapely.Polygon(SQUARE, [[(120.0, 28.5), (120.01, 28.5), (120.01, 28.51), (120.0, 28.5)]])
    problem = check_polygon(hole_outside)
    assert problem.code == "invalid_geometry"
    assert problem.params["reason"].startswith("内环位于外环之外")
    assert "120.0" in problem.params["reason"]
    overlapping = shapely.MultiPolygon([shapely.Polygon(SQUARE), shapely.Polygon([(x + 0.01, y) for x, y in SQUARE])])
    assert check_polygon(overlapping).code in ("self_intersection", "invalid_geometry")


def nan_polygon() -> shapely.Polygon:
    with np.errstate(invalid="ignore"):
        return shapely.Polygon([(119.9, 28.43), (np.nan, 28.43), (119.95, 28.48), (119.9, 28.43)])


@pytest.mark.parametrize(
    "geom, code",
    [
        (None, "geometry_missing"),
        (shapely.Polygon(), "geometry_empty"),
        (shapely.MultiPolygon(), "geometry_empty"),
        (shapely.Point(119.9, 28.4), "geometry_wrong_type"),
        (shapely.LineString(SQUARE), "geometry_wrong_type"),
        (shapely.Polygon([(y, x) for x, y in SQUARE]), "coordinate_swapped"),
        (shapely.Polygon([(x * 1e5, y * 1e5) for x, y in SQUARE]), "coordinate_out_of_range"),
        (shapely.Polygon([(x - 117.6, y + 20.4) for x, y in SQUARE]), "coordinate_outside_china"),  # Paris
        (lambda: nan_polygon(), "coordinate_not_number"),
    ],
)
def test_check_polygon_codes(geom, code):
    if callable(geom):
        geom = geom()
    problem = check_polygon(geom)
    assert problem is not None and problem.code == code
    assert problem.message


def test_wrong_type_message():
    problem = check_polygon(shapely.Point(119.9, 28.4))
    assert problem.message == "几何类型应为 Polygon 或 MultiPolygon，实际为 Point。"


def test_check_polygons_vectorised_matches_single():
    bowtie = shapely.Polygon([(119.90, 28.43), (119.95, 28.48), (119.95, 28.43), (119.90, 28.48)])
    geoms = np.array(
        [
            shapely.Polygon(SQUARE),
            None,
            bowtie,
            shapely.Point(1, 2),
            shapely.Polygon([(y, x) for x, y in SQUARE]),
            shapely.Polygon(),
            shapely.MultiPolygon([shapely.Polygon(SQUARE)]),
        ],
        dtype=object,
    )
    result = check_polygons(geoms)
    assert codes(result) == [
        None,
        "geometry_missing",
        "self_intersection",
        "geometry_wrong_type",
        "coordinate_swapped",
        "geometry_empty",
        None,
    ]
    assert codes(result) == codes([check_polygon(g) for g in geoms])
    assert check_polygons(np.array([], dtype=object)).shape == (0,)
    assert codes(check_polygons([shapely.Polygon(SQUARE)])) == [None]


def test_check_polygons_many():
    base = shapely.Polygon(SQUARE)
    geoms = np.array([shapely.affinity.translate(base, xoff=i * 1e-3) for i in range(2000)], dtype=object)
    geoms[1500] = shapely.Polygon([(x + 100, y) for x, y in SQUARE])
    result = check_polygons(geoms)
    bad = [i for i, p in enumerate(result) if p is not None]
    assert bad == [1500]
    assert result[1500].code == "coordinate_out_of_range"


# --- as_multipolygon -----------------------------------------------------------------


def test_as_multipolygon():
    p = shapely.Polygon(SQUARE)
    mp = as_multipolygon(p)
    assert mp.geom_type == "MultiPolygon" and mp.geoms[0].equals(p)
    same = shapely.MultiPolygon([p])
    assert as_multipolygon(same) is same
    assert as_multipolygon(None) is None
    with pytest.raises(TypeError):
        as_multipolygon(shapely.Point(1, 2))


def test_as_multipolygon_array():
    p = shapely.Polygon(SQUARE)
    arr = np.array([p, None, shapely.MultiPolygon([p, shapely.Polygon([(x + 1, y) for x, y in SQUARE])])], dtype=object)
    out = as_multipolygon(arr)
    assert [None if g is None else g.geom_type for g in out] == ["MultiPolygon", None, "MultiPolygon"]
    assert out[0].geoms[0].equals(p)
    assert len(out[2].geoms) == 2
    assert arr[0].geom_type == "Polygon"  # input untouched
    with pytest.raises(TypeError):
        as_multipolygon(np.array([p, shapely.Point(1, 2)], dtype=object))
