"""gridmap.geo.readers.geojson: GeoJSON features, per-feature problems, whole-file failures."""

from __future__ import annotations

import json

import pytest

from gridmap.geo.file_errors import EmptyFileError, FileReadError
from gridmap.geo.io import read_features
from tests.unit.geo_files import POLYGONS, SQUARE, codes, fixture, in_lishui, write


def test_geojson_fixture_reports_the_unclosed_ring_per_feature():
    table = read_features(fixture("areas_lishui.geojson"), "areas_lishui.geojson", expected=POLYGONS)
    assert len(table) == 2
    assert list(table.properties.columns) == ["编码", "名称", "上级编码", "户数"]
    assert table.properties.loc[0, "名称"] == "白云山第一网格"
    assert table.properties.loc[1, "户数"] == "287"  # numbers become text
    assert all(isinstance(v, str) for v in table.properties.to_numpy().ravel())
    assert table.geometries[0].geom_type == "Polygon" and in_lishui(table.geometries[0])
    assert table.geometries[1] is None
    assert codes(table.problems) == [None, "ring_not_closed"]
    assert table.crs is None


def test_geojson_values_become_strings(tmp_path):
    features = [
        {
            "type": "Feature",
            "properties": {"code": 331102001001.0, "n": 3, "ok": True, "x": None, "r": 1.5, "tags": ["a", "低保"]},
            "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
        },
        {"type": "Feature", "properties": None, "geometry": None},
        {
            "type": "Feature",
            "properties": {"extra": "只在第三个"},
            "geometry": {"type": "Point", "coordinates": [119.9, 28.4]},
        },
        "not a feature",
    ]
    path = write(
        tmp_path, "a.geojson", json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    )
    table = read_features(path, "a.geojson", expected=POLYGONS)
    props = table.properties
    assert props.loc[0, ["code", "n", "ok", "x", "r"]].tolist() == ["331102001001", "3", "true", "", "1.5"]
    assert json.loads(props.loc[0, "tags"]) == ["a", "低保"]
    assert props.loc[1].tolist() == [""] * props.shape[1]
    assert props.loc[2, "extra"] == "只在第三个"
    assert codes(table.problems) == [None, "geometry_missing", "geometry_wrong_type", "geometry_unreadable"]
    assert len(table.geometries) == 4


def test_geojson_single_feature_bare_geometry_and_legacy_crs(tmp_path):
    feature = {
        "type": "Feature",
        "properties": {"名称": "一"},
        "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
    }
    table = read_features(write(tmp_path, "f.json", json.dumps(feature)), "f.json")
    assert len(table) == 1 and table.properties.loc[0, "名称"] == "一"
    table = read_features(
        write(tmp_path, "g.geojson", json.dumps({"type": "Polygon", "coordinates": [SQUARE]})), "g.geojson"
    )
    assert len(table) == 1 and table.geometries[0].geom_type == "Polygon"
    assert table.properties.shape == (1, 0)
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "features": [feature],
    }
    assert read_features(write(tmp_path, "c.geojson", json.dumps(doc)), "c.geojson").crs == "EPSG:4490"
    doc["crs"]["properties"]["name"] = "urn:ogc:def:crs:OGC:1.3:CRS84"
    assert read_features(write(tmp_path, "d.geojson", json.dumps(doc)), "d.geojson").crs == "wgs84"


def test_geojson_bad_coordinates_are_per_feature(tmp_path):
    text = (
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[119.9,NaN],[119.95,28.43],[119.95,28.48],[119.9,NaN]]]}},'
        '{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[119.9,28.43],[119.95,28.43],[119.9,28.43]]]}},'
        '{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[119.9,28.43,5],[119.95,28.43,5],[119.95,28.48,5],[119.9,28.43,5]]]}}'
        "]}"
    )
    table = read_features(write(tmp_path, "b.geojson", text), "b.geojson", expected=POLYGONS)
    assert codes(table.problems) == ["coordinate_not_number", "ring_too_short", None]
    assert not table.geometries[2].has_z


def test_geojson_gbk_encoded(tmp_path):
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"名称": "白云山"}, "geometry": None}],
    }
    path = write(tmp_path, "gbk.geojson", json.dumps(doc, ensure_ascii=False), encoding="gbk")
    assert read_features(path, "gbk.geojson").properties.loc[0, "名称"] == "白云山"


@pytest.mark.parametrize(
    "text, error, fragment",
    [
        ('{"type": "FeatureCollection", "features": [', FileReadError, "第 1 行"),
        ("[1, 2, 3]", FileReadError, "GeoJSON"),
        ('{"type": "Topology"}', FileReadError, "GeoJSON"),
        ('{"type": "FeatureCollection", "features": {}}', FileReadError, "features"),
        ('{"type": "FeatureCollection", "features": []}', EmptyFileError, ""),
        ("", EmptyFileError, ""),
        ("   \n", EmptyFileError, ""),
        ("[" * 100000, FileReadError, ""),
    ],
)
def test_geojson_whole_file_failures(tmp_path, text, error, fragment):
    path = write(tmp_path, "x.geojson", text)
    with pytest.raises(error) as info:
        read_features(path, "x.geojson")
    err = info.value
    assert isinstance(err, ValueError)
    if error is EmptyFileError:
        assert err.code == "empty_file"
        assert err.message == "文件中没有任何数据。"
    else:
        assert err.code == "unreadable_file"
        assert fragment in err.params["reason"]
        assert err.message.startswith("文件无法读取：")


def test_geojson_undecodable_bytes(tmp_path):
    path = write(tmp_path, "x.geojson", b'{"type": "\xff\xfe\xff"}')
    with pytest.raises(FileReadError) as info:
        read_features(path, "x.geojson")
    assert "编码" in info.value.params["reason"]
