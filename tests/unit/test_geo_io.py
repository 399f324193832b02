"""gridmap.geo.io: reading uploaded vector files and tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile

import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.geo.crs import geometry_to_wgs84
from gridmap.geo.file_errors import EmptyFileError, FileFormatError, FileReadError
from gridmap.geo.io import detect_format, read_features, read_table
from gridmap.geo.safe_open import GPKG_HEADER
from gridmap.geo.validate import check_polygons
from gridmap.messages import message

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "geo")
POLYGONS = {"Polygon", "MultiPolygon"}
SQUARE = [[119.90, 28.43], [119.95, 28.43], [119.95, 28.48], [119.90, 28.48], [119.90, 28.43]]
LISHUI = (119.88, 28.40, 119.97, 28.50)


def fixture(name: str) -> str:
    return os.path.join(FIXTURES, name)


def codes(problems) -> list:
    return [None if p is None else p.code for p in problems]


def in_lishui(geom) -> bool:
    x0, y0, x1, y1 = geom.bounds
    return LISHUI[0] < x0 < x1 < LISHUI[2] and LISHUI[1] < y0 < y1 < LISHUI[3]


def write(tmp_path, name: str, data: bytes | str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return str(path)


# --- detect_format -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("grids.geojson", "geojson"),
        ("grids.JSON", "geojson"),
        ("网格.GeoJSON", "geojson"),
        ("grids.gpkg", "gpkg"),
        ("grids.zip", "shapefile_zip"),
        ("grids.kml", "kml"),
        ("grids.kmz", "kml"),
        ("住户.csv", "csv"),
        ("住户.XLSX", "xlsx"),
        ("/tmp/x/a.b.csv", "csv"),
    ],
)
def test_detect_format(name, fmt):
    assert detect_format(name) == fmt


@pytest.mark.parametrize("name", ["grids.shp", "住户.xls", "a.txt", "noext", "", "csv", "a.csv.exe"])
def test_detect_format_rejects(name):
    with pytest.raises(FileFormatError) as info:
        detect_format(name)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.code == "unsupported_file"
    assert err.params == {"filename": name}
    assert message(err.code, **err.params).startswith(f"不支持的文件格式：{name}")


def test_readers_refuse_the_other_kind(tmp_path):
    with pytest.raises(FileFormatError):
        read_features(fixture("households_gbk.csv"), "households_gbk.csv")
    with pytest.raises(FileFormatError):
        read_table(fixture("areas_lishui.geojson"), "areas_lishui.geojson")


# --- GeoJSON -------------------------------------------------------------------------


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


# --- Shapefile (zip) -----------------------------------------------------------------


def test_shapefile_zip_fixture_gbk_without_cpg_in_subfolder():
    table = read_features(fixture("grids_lishui_shp.zip"), "grids_lishui_shp.zip", expected=POLYGONS)
    assert table.crs == "EPSG:4549"
    assert table.properties["名称"].tolist() == ["白云山第一网格", "白云山第二网格"]
    assert table.properties["编码"].tolist() == ["331102001001001", "331102001001002"]
    assert table.properties["户数"].tolist() == ["312", "287"]
    assert codes(table.problems) == [None, None]
    wgs = geometry_to_wgs84(table.geometries, table.crs)
    assert all(in_lishui(g) for g in wgs)
    assert codes(check_polygons(wgs)) == [None, None]


def make_shapefile(tmp_path, encoding: str, cpg: str | None, folder: str = "", name: str = "grids") -> str:
    import geopandas as gpd
    import pyogrio

    out = tmp_path / f"shp_{encoding}_{cpg}"
    out.mkdir(exist_ok=True)
    gdf = gpd.GeoDataFrame(
        {"名称": ["白云山第一网格"], "编码": ["331102001001001"]}, geometry=[shapely.Polygon(SQUARE)], crs="EPSG:4326"
    )
    shp = out / f"{name}.shp"
    pyogrio.write_dataframe(gdf, str(shp), encoding=encoding)
    cpg_path = out / f"{name}.cpg"
    if cpg is None:
        cpg_path.unlink(missing_ok=True)
    else:
        cpg_path.write_text(cpg)
    zpath = tmp_path / f"{name}_{encoding}_{cpg}.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in out.iterdir():
            zf.write(f, folder + f.name)
    return str(zpath)


@pytest.mark.parametrize(
    "encoding, cpg",
    [
        ("GBK", "GBK"),  # honest .cpg
        ("GBK", "936"),  # code page number, as ArcGIS writes it
        ("GBK", "UTF-8"),  # lying .cpg
        ("UTF-8", None),  # UTF-8 without .cpg (GDAL alone would assume Latin-1)
        ("UTF-8", "UTF-8"),
    ],
)
def test_shapefile_encodings(tmp_path, encoding, cpg):
    path = make_shapefile(tmp_path, encoding, cpg, folder="数据/")
    table = read_features(path, "grids.zip")
    assert table.properties.loc[0, "名称"] == "白云山第一网格"
    assert table.properties.columns.tolist() == ["名称", "编码"]
    assert table.crs == "wgs84"


def test_shapefile_wrong_type_for_expected():
    table = read_features(fixture("grids_lishui_shp.zip"), "g.zip", expected={"Point"})
    assert codes(table.problems) == ["geometry_wrong_type"] * 2
    assert table.problems[0].params == {"expected": "Point", "actual": "Polygon"}
    assert all(g is None for g in table.geometries)


def test_zip_problems(tmp_path):
    empty_zip = tmp_path / "none.zip"
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    with pytest.raises(FileReadError, match=r"\.shp"):
        read_features(str(empty_zip), "none.zip")

    two = make_shapefile(tmp_path, "UTF-8", None, name="a")
    with zipfile.ZipFile(two, "a") as zf:
        zf.writestr("b.shp", b"\x00" * 100)
    with pytest.raises(FileReadError) as info:
        read_features(two, "two.zip")
    assert "多个" in info.value.params["reason"]

    no_shx = tmp_path / "noshx.zip"
    with zipfile.ZipFile(fixture("grids_lishui_shp.zip")) as src, zipfile.ZipFile(no_shx, "w") as dst:
        for item in src.namelist():
            if not item.endswith(".shx"):
                dst.writestr(item, src.read(item))
    with pytest.raises(FileReadError, match=r"\.shx"):
        read_features(str(no_shx), "noshx.zip")

    with pytest.raises(FileReadError):
        read_features(write(tmp_path, "fake.zip", b"PK not really a zip"), "fake.zip")


def test_corrupt_shapefile_is_a_read_error(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for ext in ("shp", "shx", "dbf"):
            zf.writestr(f"g.{ext}", b"garbage" * 10)
    with pytest.raises(FileReadError) as info:
        read_features(str(bad), "bad.zip")
    assert str(tmp_path) not in info.value.message  # no server paths in messages


# --- GeoPackage ----------------------------------------------------------------------


def test_gpkg_fixture():
    table = read_features(fixture("grids_lishui.gpkg"), "grids_lishui.gpkg", expected=POLYGONS)
    assert table.crs == "EPSG:4490"
    assert table.properties["名称"].tolist() == ["白云山第一网格", "白云山第二网格"]
    assert table.properties["户数"].tolist() == ["312", "287"]
    assert all(in_lishui(g) for g in table.geometries)
    assert codes(table.problems) == [None, None]


def test_gpkg_with_two_layers_is_refused(tmp_path):
    import geopandas as gpd
    import pyogrio

    path = str(tmp_path / "two.gpkg")
    gdf = gpd.GeoDataFrame({"名称": ["一"]}, geometry=[shapely.Polygon(SQUARE)], crs="EPSG:4326")
    pyogrio.write_dataframe(gdf, path, layer="grids")
    pyogrio.write_dataframe(gdf, path, layer="communities", append=True)
    with pytest.raises(FileReadError) as info:
        read_features(path, "two.gpkg")
    assert "grids" in info.value.params["reason"] and "communities" in info.value.params["reason"]


def test_gpkg_null_geometry_and_empty_layer(tmp_path):
    import geopandas as gpd
    import pyogrio

    path = str(tmp_path / "nulls.gpkg")
    gdf = gpd.GeoDataFrame({"名称": ["一", "二"]}, geometry=[shapely.Polygon(SQUARE), None], crs="EPSG:4326")
    pyogrio.write_dataframe(gdf, path)
    table = read_features(path, "nulls.gpkg")
    assert codes(table.problems) == [None, "geometry_missing"]
    assert table.geometries[1] is None

    empty = str(tmp_path / "empty.gpkg")
    pyogrio.write_dataframe(gdf.iloc[:0], empty)
    with pytest.raises(EmptyFileError):
        read_features(empty, "empty.gpkg")


@pytest.mark.filterwarnings("ignore:GPKG. bad application_id:RuntimeWarning")  # GDAL says so of the garbage
def test_gpkg_garbage_is_a_read_error(tmp_path):
    with pytest.raises(FileReadError) as info:
        read_features(write(tmp_path, "x.gpkg", GPKG_HEADER + b"\x01" * 500), "x.gpkg")
    assert info.value.code == "unreadable_file"
    assert "GeoPackage" in info.value.params["reason"]


# --- KML -----------------------------------------------------------------------------


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


# --- tables --------------------------------------------------------------------------


def test_gbk_csv_fixture():
    frame = read_table(fixture("households_gbk.csv"), "households_gbk.csv")
    assert list(frame.columns) == ["户号", "地址", "经度", "纬度", "户主", "电话", "人数", "标签"]
    assert len(frame) == 3
    assert frame.loc[0, "地址"] == "莲都区白云山路12号1单元101"
    assert frame.loc[0, "户号"] == "3311020010010001"
    assert frame.loc[2, "经度"] == "28.45102"  # swapped in the file; the caller checks
    assert frame.loc[1, "标签"] == ""
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())
    assert frame.attrs["header_row"] == 1


def test_csv_utf8_bom_keeps_text_verbatim(tmp_path):
    text = "\ufeff户号, 经度 ,纬度,电话,备注\r\n0001,119.92,28.45,057112345678,NA\r\n0002,,28.45,,null\r\n"
    frame = read_table(write(tmp_path, "h.csv", text), "h.csv")
    assert list(frame.columns) == ["户号", "经度", "纬度", "电话", "备注"]
    assert frame.loc[0].tolist() == ["0001", "119.92", "28.45", "057112345678", "NA"]
    assert frame.loc[1].tolist() == ["0002", "", "28.45", "", "null"]


@pytest.mark.parametrize("sep", ["\t", ";", "|"])
def test_csv_separators(tmp_path, sep):
    text = sep.join(["户号", "经度", "纬度"]) + "\n" + sep.join(["1", "119.92", "28.45"]) + "\n"
    frame = read_table(write(tmp_path, "s.csv", text), "s.csv")
    assert frame.loc[0, "经度"] == "119.92"



def test_gbk_csv_whose_bytes_look_like_separators_to_a_utf8_parse(tmp_path):
    # 億 is 83 7C in GBK: its second byte is "|", so the UTF-8 attempt must not win. The first 8 KB
    # (what the separator sniffing decodes) are plain ASCII: only the parse itself meets the byte.
    ascii_rows = "".join(f"{k}|Baiyun Road {k}|119.93\n" for k in range(600))
    data = ("code|address|lon\n" + ascii_rows + "600|億达路1号|119.92\n").encode("gbk")
    assert len(ascii_rows) > 8192
    frame = read_table(write(tmp_path, "g.csv", data), "g.csv")
    assert frame["address"].tolist()[-2:] == ["Baiyun Road 599", "億达路1号"]
    assert frame["lon"].tolist()[-1] == "119.92"


def test_csv_quoted_commas_and_blank_rows(tmp_path):
    text = '户号,地址\n1,"白云山路12号,1单元"\n,\n\n3,"x"\n'
    frame = read_table(write(tmp_path, "q.csv", text), "q.csv")
    assert frame["户号"].tolist() == ["1", "3"]
    assert frame.loc[0, "地址"] == "白云山路12号,1单元"
    assert frame.index.tolist() == [0, 2]  # data-row positions survive dropping blanks


def test_csv_duplicate_and_blank_headers(tmp_path):
    frame = read_table(write(tmp_path, "d.csv", "a,a,,b\n1,2,3,4\n"), "d.csv")
    assert list(frame.columns) == ["a", "a.1", "Unnamed: 2", "b"]


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", EmptyFileError),
        ("户号,经度,纬度\r\n".encode("gbk"), EmptyFileError),
        (b"a,b\n,\n,\n", EmptyFileError),
        (b"a,b\n1,2\n3,4,5\n", FileReadError),
        (b"a,b\n\xff\xfe\xff,1\n", FileReadError),
    ],
)
def test_csv_failures(tmp_path, data, error):
    with pytest.raises(error) as info:
        read_table(write(tmp_path, "f.csv", data), "f.csv")
    assert info.value.code == ("empty_file" if error is EmptyFileError else "unreadable_file")


def test_csv_ragged_row_names_the_line(tmp_path):
    with pytest.raises(FileReadError) as info:
        read_table(write(tmp_path, "r.csv", "a,b\n1,2\n3,4,5\n"), "r.csv")
    assert "第 3 行" in info.value.params["reason"]


def make_xlsx(path: str, rows: list[list], title: str | None = None) -> str:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_xlsx_values_become_text(tmp_path):
    path = make_xlsx(
        str(tmp_path / "h.xlsx"),
        [
            ["户号", "经度", "纬度", "电话", "人数", "登记日期", "备注", None],
            ["0001", 119.92, 28.45, 13812345678, 3, dt.datetime(2024, 5, 1), None],
            [None, None, None, None, None, None, None],
            [2, 119.9301, 28.4502, "13900001111", 4.0, dt.datetime(2024, 5, 2, 8, 30), True],
        ],
        title="莲都区白云山社区住户表",
    )
    frame = read_table(path, "h.xlsx")
    assert list(frame.columns) == ["户号", "经度", "纬度", "电话", "人数", "登记日期", "备注"]
    assert frame.loc[0].tolist() == ["0001", "119.92", "28.45", "13812345678", "3", "2024-05-01", ""]
    assert frame.index.tolist() == [0, 2]
    assert frame.loc[2].tolist() == ["2", "119.9301", "28.4502", "13900001111", "4", "2024-05-02T08:30:00", "true"]
    assert frame.attrs["header_row"] == 2  # the title row was skipped
    # Spreadsheet row of a frame row: index + header_row + 1.
    assert 2 + frame.attrs["header_row"] + 1 == 5


def test_xlsx_failures(tmp_path):
    with pytest.raises(FileReadError):
        read_table(write(tmp_path, "a.xlsx", "户号,经度\n1,2\n"), "a.xlsx")
    with pytest.raises(FileReadError):
        read_table(write(tmp_path, "b.xlsx", b"PK\x03\x04 broken"), "b.xlsx")
    with pytest.raises(EmptyFileError):
        read_table(make_xlsx(str(tmp_path / "c.xlsx"), []), "c.xlsx")
    with pytest.raises(EmptyFileError):
        read_table(make_xlsx(str(tmp_path / "d.xlsx"), [["户号", "经度"]]), "d.xlsx")


def test_missing_file_is_a_read_error(tmp_path):
    for name in ("gone.csv", "gone.geojson", "gone.kml"):
        reader = read_table if name.endswith(".csv") else read_features
        with pytest.raises(FileReadError):
            reader(str(tmp_path / name), name)


def test_fixtures_are_small():
    for name in os.listdir(FIXTURES):
        assert os.path.getsize(fixture(name)) < 20_000, name


def test_big_csv_reads_as_strings(tmp_path):
    n = 50_000
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "户号": [f"{i:016d}" for i in range(n)],
            "经度": np.round(rng.uniform(119.90, 119.95, n), 6),
            "纬度": np.round(rng.uniform(28.43, 28.48, n), 6),
        }
    )
    path = str(tmp_path / "big.csv")
    frame.to_csv(path, index=False, encoding="gb18030")
    out = read_table(path, "big.csv")
    assert len(out) == n
    assert out.loc[n - 1, "户号"] == f"{n - 1:016d}"
    assert out["经度"].map(type).eq(str).all()
