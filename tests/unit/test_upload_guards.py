"""The pure guards in front of the file readers: zipguard (archive bounds, member names,
actual sizes), safe_open (content against the declared type, XML without DTDs, plain CRS
definitions) and lockdown (GDAL/PROJ without network or VRT)."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest

from gridmap.geo import lockdown, safe_open, zipguard
from gridmap.geo.file_errors import FileReadError, FileRefusedError


def _zip(tmp_path, members: dict[str, bytes], name: str = "a.zip") -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return str(path)


@pytest.mark.parametrize("name", ["../x.shp", "a/../../x", "/etc/passwd", "C:/x", "a\\..\\x", "/vsizip/x/y",
                                  "a/vsicurl/http:/x", "http://h/x", "a\x00b", ""])
def test_unsafe_member_names(name):
    assert not zipguard.safe_member_name(name)


@pytest.mark.parametrize("name", ["p.shp", "数据/网格.shp", "a/b/c.dbf", "..a.txt", "a..b/c"])
def test_plain_member_names(name):
    assert zipguard.safe_member_name(name)


def test_archive_bounds(tmp_path):
    limits = zipguard.ZipLimits(max_members=3, max_total=10_000, max_ratio=10, ratio_floor=1_000)
    ok = _zip(tmp_path, {"a.txt": os.urandom(500), "b.txt": b"x" * 900})
    with zipguard.open_archive(ok, "shapefile_zip", limits) as zf:
        zipguard.Reader(zf, limits).verify_members()
    cases = {
        "members": {f"{i}.txt": b"" for i in range(4)},
        "total": {"a.bin": os.urandom(6_000), "b.bin": os.urandom(6_000)},
        "ratio": {"a.txt": b"\0" * 5_000},
        "name": {"../a.txt": b""},
    }
    for case, members in cases.items():
        with pytest.raises(FileRefusedError) as info:
            zipguard.open_archive(_zip(tmp_path, members, f"{case}.zip"), "shapefile_zip", limits)
        assert info.value.code == ("unsafe_file_content" if case == "name" else "archive_refused"), case


def _patch_sizes(path: str, size: int) -> None:
    data = bytearray(open(path, "rb").read())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset: at + offset + 4] = struct.pack("<I", size)
    open(path, "wb").write(bytes(data))


def test_declared_sizes_that_lie_are_caught_by_counting(tmp_path):
    small = _zip(tmp_path, {"doc.kml": b"<kml>" + b" " * 50_000 + b"</kml>"}, "small.zip")
    _patch_sizes(small, 100)  # says 100 bytes, holds 50 kB
    with zipguard.open_archive(small, "kmz") as zf, pytest.raises(FileRefusedError) as info:
        zipguard.Reader(zf).read_member("doc.kml")
    assert info.value.code == "archive_refused"
    huge = _zip(tmp_path, {"doc.kml": b"<kml/>"}, "huge.zip")
    _patch_sizes(huge, 0xFFFF0000)  # says 4 GB
    with pytest.raises(FileRefusedError) as info:
        zipguard.open_archive(huge, "kmz")
    assert info.value.code == "archive_refused"


def test_reads_share_one_budget(tmp_path):
    limits = zipguard.ZipLimits(max_total=3_000)
    path = _zip(tmp_path, {"a": os.urandom(1_400), "b": os.urandom(1_400)})
    with zipguard.open_archive(path, "shapefile_zip", limits) as zf:
        reader = zipguard.Reader(zf, zipguard.ZipLimits(max_total=2_000))  # a smaller actual budget
        reader.read_member("a")
        with pytest.raises(FileRefusedError):
            reader.read_member("b")


def test_not_a_zip_is_a_type_mismatch(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"<OGRVRTDataSource/>")
    with pytest.raises(FileRefusedError) as info:
        zipguard.open_archive(str(path), "shapefile_zip")
    assert info.value.code == "unreadable_file" and isinstance(info.value, FileReadError)


@pytest.mark.parametrize("extension, content", [
    (".geojson", b"<OGRVRTDataSource/>"), (".geojson", b"\x89PNG\r\n\x1a\n"), (".json", safe_open.GPKG_HEADER),
    (".kml", b"PK\x03\x04rest"), (".kml", b"{\"type\": 1}"), (".csv", safe_open.GPKG_HEADER + b"\0" * 200),
    (".csv", b"PK\x03\x04"), (".csv", b"<OGRVRTDataSource>"), (".csv", b"\xef\xbb\xbf  <?xml version='1.0'?>"),
    (".gpkg", b"<OGRVRTDataSource/>"), (".gpkg", safe_open.GPKG_HEADER + b"\1" * 500), (".xlsx", b"name,x\n"),
])
def test_content_must_match_the_extension(tmp_path, extension, content):
    path = tmp_path / f"f{extension}"
    path.write_bytes(content)
    with pytest.raises(FileRefusedError) as info:
        safe_open.check_content(str(path), extension)
    assert info.value.code == "unreadable_file" and "不符" in info.value.message


@pytest.mark.parametrize("extension, content", [
    (".geojson", b'\xef\xbb\xbf {"type": "FeatureCollection"}'), (".kml", b"  <?xml version='1.0'?><kml/>"),
    (".csv", "户号,经度\n1,2\n".encode("gbk")), (".csv", b""), (".geojson", b""),
])
def test_matching_content_passes(tmp_path, extension, content):
    path = tmp_path / f"f{extension}"
    path.write_bytes(content)
    safe_open.check_content(str(path), extension)


def test_gpkg_with_a_proj_string_srs_is_refused():
    """A real GeoPackage whose EPSG:4326 row's definition carries a PROJ extension (+init=)."""
    path = str(Path(__file__).resolve().parents[1] / "fixtures" / "geo" / "hostile" / "proj_string_srs.gpkg")
    with pytest.raises(FileRefusedError) as info:
        safe_open.check_gpkg(path)
    assert info.value.code == "unsafe_file_content"


@pytest.mark.parametrize("text", ["+proj=pipeline +step +init=/etc/passwd:x", "/vsicurl/http://127.0.0.1/x",
                                  "http://127.0.0.1/crs", 'GEOGCS["x",EXTENSION["PROJ4","+proj=longlat"]]',
                                  "+proj=longlat +nadgrids=@null", "file:///etc/passwd"])
def test_crs_definitions_from_files_must_be_plain(text):
    assert not safe_open.plain_crs_definition(text)


@pytest.mark.parametrize("text", ["EPSG:4490", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:OGC:1.3:CRS84",
                                  'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",'
                                  'SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
                                  'UNIT["Degree",0.0174532925199433]]', None, ""])
def test_plain_crs_definitions_pass(text):
    assert safe_open.plain_crs_definition(text)


@pytest.mark.parametrize("xml", [
    b'<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]><kml>&x;</kml>',
    b'<!DOCTYPE kml [<!ENTITY a "aa"><!ENTITY b "&a;&a;">]><kml>&b;</kml>',
    b'<!DOCTYPE kml SYSTEM "http://127.0.0.1:9/x.dtd"><kml/>',
])
def test_xml_with_a_dtd_is_refused(xml):
    with pytest.raises(FileRefusedError) as info:
        safe_open.parse_xml(xml)
    assert info.value.code == "unsafe_file_content"


def test_openpyxl_parses_through_defusedxml():
    import openpyxl.xml
    import openpyxl.xml.functions as functions

    assert openpyxl.xml.DEFUSEDXML
    assert functions.iterparse.__module__.startswith("defusedxml")
    assert functions.fromstring.__module__.startswith("defusedxml")


def test_lockdown_is_in_force():
    import pyogrio
    import pyproj.network

    drivers = pyogrio.list_drivers()
    assert "OGR_VRT" not in drivers and "VRT" not in drivers and "HTTP" not in drivers and "GPKG" in drivers
    assert not pyproj.network.is_network_enabled()
    assert os.environ["PROJ_NETWORK"] == "OFF"
    def plain(value):  # pyogrio gives options back as bool/int where it can
        if isinstance(value, bool):
            return "TRUE" if value else "NO"
        return {"YES": "TRUE", "FALSE": "NO"}.get(str(value).upper(), str(value).upper())

    for name, value in lockdown.GDAL_OPTIONS.items():
        assert plain(pyogrio.get_gdal_config_option(name)) == plain(value), name


def test_vsi_paths_open_nothing(tmp_path):
    """Should a /vsicurl/ path ever reach GDAL, it is refused without a request."""
    import pyogrio

    with pytest.raises(Exception):  # noqa: B017 - any GDAL error; the point is no network
        pyogrio.list_layers("/vsicurl/http://127.0.0.1:9/places.gpkg")
    buffer = io.BytesIO(b"<OGRVRTDataSource/>")
    with pytest.raises(Exception):  # noqa: B017
        pyogrio.list_layers(buffer)
