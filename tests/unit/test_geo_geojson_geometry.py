"""gridmap.geo.geojson_geometry: GeoJSON geometry dicts to shapely, or the Problem."""

from __future__ import annotations

import json

import pytest
import shapely

from gridmap.geo.geojson_geometry import MAX_POSITIONS, parse_geojson_geometry

POLYGONS = {"Polygon", "MultiPolygon"}
# A grid-sized square in Liandu district, Lishui.
SQUARE = [[119.90, 28.43], [119.95, 28.43], [119.95, 28.48], [119.90, 28.48], [119.90, 28.43]]
HOLE = [[119.92, 28.45], [119.93, 28.45], [119.93, 28.46], [119.92, 28.45]]


def poly(*rings) -> dict:
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


def test_parse_valid_polygon_with_hole():
    geom, problem = parse_geojson_geometry(poly(SQUARE, HOLE), POLYGONS)
    assert problem is None
    assert geom.geom_type == "Polygon"
    assert len(geom.interiors) == 1
    assert geom.equals(shapely.Polygon(SQUARE, [HOLE]))


def test_parse_multipolygon_and_other_types_without_expected():
    geom, problem = parse_geojson_geometry(
        {"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE, HOLE]]}, POLYGONS
    )
    assert problem is None and geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    cases = {
        "Point": [119.92, 28.45],
        "MultiPoint": [[119.92, 28.45], [119.93, 28.46]],
        "LineString": [[119.92, 28.45], [119.93, 28.46]],
        "MultiLineString": [[[119.92, 28.45], [119.93, 28.46]]],
    }
    for gtype, coords in cases.items():
        geom, problem = parse_geojson_geometry({"type": gtype, "coordinates": coords}, None)
        assert problem is None and geom.geom_type == gtype
    geom, problem = parse_geojson_geometry(
        {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [119.9, 28.4]}, poly(SQUARE)]}
    )
    assert problem is None and geom.geom_type == "GeometryCollection"


def test_parse_drops_z():
    geom, problem = parse_geojson_geometry(poly([[x, y, 35.5] for x, y in SQUARE]), POLYGONS)
    assert problem is None
    assert not geom.has_z
    mixed = [[x, y, 1.0] if i % 2 else [x, y] for i, (x, y) in enumerate(SQUARE)]
    geom, problem = parse_geojson_geometry(poly(mixed), POLYGONS)
    assert problem is None and not geom.has_z
    point, problem = parse_geojson_geometry({"type": "Point", "coordinates": [119.9, 28.4, 10, 99]})
    assert problem is None and not point.has_z and (point.x, point.y) == (119.9, 28.4)


def test_parse_unwraps_a_feature():
    geom, problem = parse_geojson_geometry({"type": "Feature", "properties": {}, "geometry": poly(SQUARE)}, POLYGONS)
    assert problem is None and geom.geom_type == "Polygon"
    assert parse_geojson_geometry({"type": "Feature", "geometry": None}, POLYGONS)[1].code == "geometry_missing"


def test_unclosed_ring_is_reported_not_auto_closed():
    geom, problem = parse_geojson_geometry(poly(SQUARE[:-1]), POLYGONS)
    assert geom is None
    assert problem.code == "ring_not_closed"
    # ... also in a hole and inside a MultiPolygon.
    assert parse_geojson_geometry(poly(SQUARE, HOLE[:-1]), POLYGONS)[1].code == "ring_not_closed"
    mp = {"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE[:-1]]]}
    assert parse_geojson_geometry(mp, POLYGONS)[1].code == "ring_not_closed"
    # 3-D positions whose x/y close the ring are closed.
    ring = [[x, y, float(i)] for i, (x, y) in enumerate(SQUARE)]
    assert parse_geojson_geometry(poly(ring), POLYGONS)[1] is None


def test_ring_too_short():
    a, b = SQUARE[0], SQUARE[1]
    assert parse_geojson_geometry(poly([a, b, a]), POLYGONS)[1].code == "ring_too_short"
    assert parse_geojson_geometry(poly([a]), POLYGONS)[1].code == "ring_too_short"
    assert parse_geojson_geometry(poly([]), POLYGONS)[1].code == "ring_too_short"


@pytest.mark.parametrize(
    "obj, code",
    [
        (None, "geometry_missing"),
        ("POLYGON((1 1, 2 2))", "geometry_unreadable"),
        ({"coordinates": [[SQUARE]]}, "geometry_unreadable"),
        ({"type": "Polygonn", "coordinates": [SQUARE]}, "geometry_unreadable"),
        ({"type": "Polygon"}, "geometry_unreadable"),
        ({"type": "Polygon", "coordinates": None}, "geometry_unreadable"),
        ({"type": "Polygon", "coordinates": SQUARE}, "geometry_unreadable"),  # one level short
        ({"type": "Polygon", "coordinates": [[SQUARE]]}, "geometry_unreadable"),  # one level deep
        ({"type": "Polygon", "coordinates": "[[...]]"}, "geometry_unreadable"),
        ({"type": "Polygon", "coordinates": [[[119.9], [119.9, 28.4]]]}, "geometry_unreadable"),
        ({"type": "Polygon", "coordinates": []}, "geometry_empty"),
        ({"type": "MultiPolygon", "coordinates": []}, "geometry_empty"),
        ({"type": "MultiPolygon", "coordinates": [[]]}, "geometry_empty"),
        ({"type": "Point", "coordinates": []}, "geometry_empty"),
        ({"type": "GeometryCollection", "geometries": []}, "geometry_empty"),
        ({"type": "LineString", "coordinates": [[119.9, 28.4]]}, "geometry_unreadable"),
    ],
)
def test_parse_structural_problems(obj, code):
    geom, problem = parse_geojson_geometry(obj, None)
    assert geom is None
    assert problem.code == code
    assert problem.message  # renders without the template fields going missing
    if code == "geometry_unreadable":
        assert problem.params["reason"]
        assert "{" not in problem.message


@pytest.mark.parametrize(
    "bad",
    [float("nan"), float("inf"), float("-inf"), "28.45", None, [28.45], {"v": 1}, 10**400],
)
def test_parse_non_numeric_coordinates(bad):
    ring = [list(p) for p in SQUARE]
    ring[2] = [119.95, bad]
    geom, problem = parse_geojson_geometry(poly(ring), POLYGONS)
    assert geom is None
    assert problem.code in ("coordinate_not_number", "geometry_unreadable")
    if not isinstance(bad, (list, dict)):
        assert problem.code == "coordinate_not_number"


def test_parse_nan_from_json_text():
    # Python's json module accepts NaN and Infinity literals; they must not slip through.
    obj = json.loads('{"type": "Point", "coordinates": [NaN, 28.4]}')
    assert parse_geojson_geometry(obj, None)[1].code == "coordinate_not_number"
    obj = json.loads(
        '{"type": "Polygon", "coordinates": [[[119.9, 28.43], [Infinity, 28.43], [119.95, 28.48], [119.9, 28.43]]]}'
    )
    assert parse_geojson_geometry(obj, POLYGONS)[1].code == "coordinate_not_number"


def test_parse_wrong_type_against_expected():
    geom, problem = parse_geojson_geometry({"type": "Point", "coordinates": [119.9, 28.4]}, POLYGONS)
    assert geom is None
    assert problem.code == "geometry_wrong_type"
    assert problem.params == {"expected": "Polygon 或 MultiPolygon", "actual": "Point"}
    assert problem.message == "几何类型应为 Polygon 或 MultiPolygon，实际为 Point。"
    geom, problem = parse_geojson_geometry(poly(SQUARE), {"Point"})
    assert problem.code == "geometry_wrong_type" and problem.params["actual"] == "Polygon"


def test_parse_huge_geometry_is_refused():
    ring = [[119.9 + i * 1e-7, 28.43] for i in range(MAX_POSITIONS)] + [[119.9, 28.43]]
    geom, problem = parse_geojson_geometry(poly(ring), POLYGONS)
    assert geom is None
    assert problem.code == "geometry_unreadable"
    assert str(MAX_POSITIONS) in problem.params["reason"]
    # Exactly at the limit is fine.
    ring = [[119.9 + i * 1e-7, 28.43 + (i % 2) * 1e-6] for i in range(MAX_POSITIONS - 1)] + [[119.9, 28.43]]
    geom, problem = parse_geojson_geometry(poly(ring), POLYGONS)
    assert problem is None and len(geom.exterior.coords) == MAX_POSITIONS
    # The limit counts all parts together.
    part = [[119.9 + i * 1e-7, 28.43 + (i % 2) * 1e-6] for i in range(30000)] + [[119.9, 28.43]]
    mp = {"type": "MultiPolygon", "coordinates": [[part]] * 4}
    assert parse_geojson_geometry(mp, POLYGONS)[1].code == "geometry_unreadable"
