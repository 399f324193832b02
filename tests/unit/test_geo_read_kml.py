"""gridmap.geo.readers.kml: KML and KMZ placemarks."""

from __future__ import annotations

import zipfile

import pytest

from gridmap.geo.file_errors import EmptyFileError, FileReadError
from gridmap.geo.io import read_features
from tests.unit.geo_files import POLYGONS, codes, fixture, in_lishui, write


def test_kml_fixture_keeps_chinese_extended_data():
    table = read_features(fixture("grids_lishui.kml"), "grids_lishui.kml", expected=POLYGONS)
    assert table.crs == "wgs84"
    assert table.properties["name"].tolist() == ["白云山第一网格", "白云山第二网格"]
    assert table.properties["编码"].tolist() == ["331102001001001", "331102001001002"]
    assert table.properties["上级编码"].tolist() == ["331102001001"] * 2
    assert codes(table.problems) == [None, None]
    assert all(in_lishui(g) and not g.has_z for g in table.geometries)


def test_kmz(tmp_path):
    path = tmp_path / "grids.kmz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(fixture("grids_lishui.kml"), "doc.kml")
    table = read_features(str(path), "grids.kmz")
    assert len(table) == 2 and table.properties.loc[1, "编码"] == "331102001001002"


KML_TEMPLATE = """<?xml version="1.0" encoding="{enc}"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}</Document></kml>"""


def test_kml_per_placemark_problems(tmp_path):
    body = """
    <Placemark><name>未闭合</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
      119.90,28.43 119.95,28.43 119.95,28.48 119.90,28.48
    </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
    <Placemark><name>点</name><Point><coordinates>119.92,28.45,0</coordinates></Point></Placemark>
    <Placemark><name>无几何</name></Placemark>
    <Placemark><name>坏数字</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
      119.90,28.43 abc,28.43 119.95,28.48 119.90,28.43
    </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
    <Placemark><name>带洞</name>
      <ExtendedData><SchemaData schemaUrl="#s">
        <SimpleData name="编码">331102001001009</SimpleData>
      </SchemaData></ExtendedData>
      <MultiGeometry><Polygon>
        <outerBoundaryIs><LinearRing><coordinates>
          119.90,28.43 119.95,28.43 119.95,28.48 119.90,28.48 119.90,28.43
        </coordinates></LinearRing></outerBoundaryIs>
        <innerBoundaryIs><LinearRing><coordinates>
          119.92,28.45 119.93,28.45 119.93,28.46 119.92,28.45
        </coordinates></LinearRing></innerBoundaryIs>
      </Polygon></MultiGeometry></Placemark>
    """
    path = write(tmp_path, "p.kml", KML_TEMPLATE.format(enc="UTF-8", body=body))
    table = read_features(path, "p.kml", expected=POLYGONS)
    assert table.properties["name"].tolist() == ["未闭合", "点", "无几何", "坏数字", "带洞"]
    assert codes(table.problems) == [
        "ring_not_closed",
        "geometry_wrong_type",
        "geometry_missing",
        "coordinate_not_number",
        None,
    ]
    assert table.geometries[4].geom_type == "MultiPolygon"
    assert len(table.geometries[4].geoms[0].interiors) == 1
    assert table.properties.loc[4, "编码"] == "331102001001009"
    assert table.properties.loc[0, "编码"] == ""


def test_kml_in_gbk(tmp_path):
    body = "<Placemark><name>白云山</name><Point><coordinates>119.92,28.45</coordinates></Point></Placemark>"
    path = write(tmp_path, "g.kml", KML_TEMPLATE.format(enc="GBK", body=body), encoding="gbk")
    assert read_features(path, "g.kml").properties.loc[0, "name"] == "白云山"


def test_kml_entity_expansion_is_refused(tmp_path):
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi")
    )
    text = f'<?xml version="1.0"?><!DOCTYPE kml [{entities}]><kml><Placemark><name>&i;</name></Placemark></kml>'
    with pytest.raises(FileReadError):
        read_features(write(tmp_path, "bomb.kml", text), "bomb.kml")


def test_kml_failures(tmp_path):
    with pytest.raises(FileReadError):
        read_features(write(tmp_path, "a.kml", "<kml><Document><Placemark>"), "a.kml")
    with pytest.raises(FileReadError):
        read_features(write(tmp_path, "b.kml", "<html><body>not kml</body></html>"), "b.kml")
    with pytest.raises(EmptyFileError):
        read_features(write(tmp_path, "c.kml", KML_TEMPLATE.format(enc="UTF-8", body="<Folder/>")), "c.kml")
    with pytest.raises(EmptyFileError):
        read_features(write(tmp_path, "d.kml", b""), "d.kml")
