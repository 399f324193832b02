"""gridmap.geo.io: picking the format and the reader, errors common to every reader."""

from __future__ import annotations

import os

import pytest

from gridmap.geo.file_errors import FileFormatError, FileReadError
from gridmap.geo.io import detect_format, read_features, read_table
from gridmap.messages import message
from tests.unit.geo_files import FIXTURES, fixture

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


def test_missing_file_is_a_read_error(tmp_path):
    for name in ("gone.csv", "gone.geojson", "gone.kml"):
        reader = read_table if name.endswith(".csv") else read_features
        with pytest.raises(FileReadError):
            reader(str(tmp_path / name), name)


def test_fixtures_are_small():
    for name in os.listdir(FIXTURES):
        assert os.path.getsize(fixture(name)) < 20_000, name
