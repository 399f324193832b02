"""gridmap.geo.readers.shapefile: zipped Shapefiles, their encodings and their archives."""

from __future__ import annotations

import zipfile

import pytest
import shapely

from gridmap.geo.crs import geometry_to_wgs84
from gridmap.geo.file_errors import FileReadError
from gridmap.geo.io import read_features
from gridmap.geo.validate import check_polygons
from tests.unit.geo_files import POLYGONS, SQUARE, codes, fixture, in_lishui, write


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


@pytest.mark.parametrize("name, encoding, whole", [
    ("社区编码".encode()[:10], "UTF-8", "社区编".encode()),       # 9 bytes + 1 of a 3-byte character
    ("社区码".encode() + "码".encode()[:2], "UTF-8", "社区码".encode()),  # 2 of 3 bytes cut off
    ("社区编码".encode(), "UTF-8", None),                          # whole: left alone
    ("社区编码村".encode("gb18030")[:9], "GB18030", "社区编码".encode("gb18030")),  # a GBK lead byte left over
    (b"\xe7" + "社区".encode(), "UTF-8", None),                    # broken at the start: not a cut, left for GDAL
])
def test_a_field_name_cut_mid_character_loses_the_cut_character(name, encoding, whole):
    from gridmap.geo.readers.shapefile import _whole_prefix

    assert _whole_prefix(name, encoding) == whole
