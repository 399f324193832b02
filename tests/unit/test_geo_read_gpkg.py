"""gridmap.geo.readers.gpkg: GeoPackage layers."""

from __future__ import annotations

import pytest
import shapely

from gridmap.geo.file_errors import EmptyFileError, FileReadError
from gridmap.geo.io import read_features
from gridmap.geo.safe_open import GPKG_HEADER
from tests.unit.geo_files import POLYGONS, SQUARE, codes, fixture, in_lishui, write


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
