"""A catalogue of hostile upload files, generated here (nothing binary is committed).

``catalogue(secret, port)`` gives ``{case: (filename, bytes)}``. ``secret`` is the path of a
local file whose content must never come back; ``port`` is a local HTTP server that must
never be asked for anything. Where a case could be read at all, it is built as a valid
key-place import (name, 学校, a point inside grid A), so today's readers would import it.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

LON, LAT = 119.885, 28.455  # inside tests.factories' GRID_A

PLACES_CSV = f"名称,类型,经度,纬度\n测试学校,学校,{LON},{LAT}\n".encode()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def _vrt(source: str, layer: str, options: str = "") -> bytes:
    """An OGR VRT whose one point layer takes its name from another data source."""
    return f"""<OGRVRTDataSource>
  <OGRVRTLayer name="places">
    <SrcDataSource>{source}</SrcDataSource>{options}
    <SrcSQL>SELECT field_1 AS name, '学校' AS kind, '{LON}' AS lon, '{LAT}' AS lat FROM "{layer}"</SrcSQL>
    <GeometryType>wkbPoint</GeometryType>
    <GeometryField encoding="PointFromColumns" x="lon" y="lat"/>
  </OGRVRTLayer>
</OGRVRTDataSource>
""".encode()


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return out.getvalue()


@lru_cache(maxsize=1)
def _shapefile_parts() -> dict[str, bytes]:
    """A valid one-point key-place shapefile (.shp/.shx/.dbf/.prj/.cpg)."""
    import geopandas as gpd
    import shapely

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "places.shp")
        gpd.GeoDataFrame({"名称": ["穿越学校"], "类型": ["学校"]}, geometry=[shapely.Point(LON, LAT)],
                         crs="EPSG:4326").to_file(path, encoding="UTF-8")
        return {ext: open(os.path.join(folder, "places" + ext), "rb").read()
                for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg") if os.path.exists(os.path.join(folder, "places" + ext))}


def _shapefile_zip(stem: str, extra: dict[str, bytes] | None = None, shp: bytes | None = None) -> bytes:
    parts = {stem + ext: data for ext, data in _shapefile_parts().items()}
    if shp is not None:
        parts[stem + ".shp"] = shp
    return _zip({**parts, **(extra or {})})


@lru_cache(maxsize=1)
def _gpkg() -> bytes:
    import geopandas as gpd
    import shapely

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "p.gpkg")
        gpd.GeoDataFrame({"名称": ["库学校"], "类型": ["学校"]}, geometry=[shapely.Point(LON, LAT)],
                         crs="EPSG:4326").to_file(path, driver="GPKG")
        return open(path, "rb").read()


def _kml(name: str, doctype: str = "", padding: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<kml xmlns="http://www.opengis.net/kml/2.2">'
            f"<Document><Placemark><name>{name}</name><ExtendedData><Data name=\"类型\"><value>学校</value></Data>"
            f"</ExtendedData><Point><coordinates>{LON},{LAT}</coordinates></Point></Placemark>{padding}"
            "</Document></kml>").encode()


def _laughs(depth: int = 9) -> str:
    entities = '<!ENTITY a "hahahahaha">' + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefghij", "bcdefghijk"[:depth]))
    return entities


@lru_cache(maxsize=1)
def _xlsx_template() -> dict[str, bytes]:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["名称", "类型", "经度", "纬度"])
    ws.append(["表格学校", "学校", LON, LAT])
    out = io.BytesIO()
    wb.save(out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _xlsx(replace: dict[str, bytes]) -> bytes:
    return _zip({**_xlsx_template(), **replace})


def _with_doctype(xml: bytes, doctype: str, cell_text: bytes, entity: bytes) -> bytes:
    """Put a DOCTYPE before the root element and an entity reference in place of some text."""
    at = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    return xml[:at] + doctype.encode() + xml[at:].replace(cell_text, entity, 1)


def _lying_sizes(data: bytes, declared: int) -> bytes:
    """Patch every local and central header's uncompressed size (zip32 fields) to ``declared``."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := out.find(signature, start)) >= 0:
            out[at + offset: at + offset + 4] = struct.pack("<I", declared)
            start = at + 4
    return bytes(out)


def catalogue(secret: str, port: int) -> dict[str, tuple[str, bytes]]:
    secret_layer = os.path.splitext(os.path.basename(secret))[0]
    local_vrt = _vrt(f"CSV:{secret}", secret_layer, '\n    <OpenOptions><OOI key="HEADERS">NO</OOI></OpenOptions>')
    url = f"http://127.0.0.1:{port}"
    curl_vrt = _vrt(f"/vsicurl/{url}/places.csv", "places")
    xxe = f'<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    xxe_xlsx = f'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    sheet = _xlsx_template()["xl/worksheets/sheet1.xml"]
    workbook = _xlsx_template()["xl/workbook.xml"]
    spaces = " " * (60 << 20)
    shp = _shapefile_parts()
    return {
        # OGR VRT disguised as every type, pointing at a local file or a URL
        "vrt_as_gpkg": ("places.gpkg", local_vrt),
        "vrt_as_geojson": ("places.geojson", local_vrt),
        "vrt_as_csv": ("places.csv", local_vrt),
        "vrt_as_kml": ("places.kml", local_vrt),
        "vrt_as_xlsx": ("places.xlsx", local_vrt),
        "vrt_as_shapefile_member": ("places.zip", _zip({"p.shp": local_vrt, "p.shx": shp[".shx"],
                                                          "p.dbf": shp[".dbf"]})),
        "vsicurl_vrt_as_gpkg": ("places.gpkg", curl_vrt),
        "vsicurl_vrt_as_shapefile_member": ("places.zip", _zip({"p.shp": curl_vrt, "p.shx": shp[".shx"],
                                                                  "p.dbf": shp[".dbf"]})),
        "vsicurl_vrt_as_kmz_member": ("places.kmz", _zip({"doc.kml": curl_vrt})),
        # virtual file system names and URLs in file names, member names and CRS definitions
        "vsicurl_filename": (f"/vsicurl/{url}/places.gpkg", curl_vrt),
        "vsizip_member_name": ("places.zip", _shapefile_zip("/vsizip//tmp/x.zip/p")),
        "vsicurl_member_name": ("places.zip", _shapefile_zip(f"/vsicurl/{url}/p")),
        "vsicurl_relative_member_name": ("places.zip", _shapefile_zip(f"a/vsicurl/{url}/p")),
        "geojson_crs_vsicurl": ("places.geojson", json.dumps({
            "type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": f"/vsicurl/{url}/crs"}},
            "features": [{"type": "Feature", "properties": {"名称": "坐标学校", "类型": "学校"},
                          "geometry": {"type": "Point", "coordinates": [LON, LAT]}}]}).encode()),
        "geojson_crs_proj_pipeline": ("places.geojson", json.dumps({
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": f"+proj=pipeline +step +init={secret}:x"}},
            "features": [{"type": "Feature", "properties": {"名称": "管道学校", "类型": "学校"},
                          "geometry": {"type": "Point", "coordinates": [LON, LAT]}}]}).encode()),
        "prj_with_proj_extension": ("places.zip", _shapefile_zip("p", {"p.prj": (
            'GEOGCS["x",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],'
            f'UNIT["degree",0.0174532925199433],EXTENSION["PROJ4","+proj=longlat +nadgrids=@{url}/g.tif"]]'
        ).encode()})),
        # zip bombs and malformed archives
        "kmz_ratio_bomb": ("places.kmz", _zip({"doc.kml": _kml("炸弹学校", padding=f"<!--{spaces}-->")})),
        "xlsx_ratio_bomb": ("places.xlsx", _xlsx({"xl/worksheets/sheet1.xml": sheet.replace(
            b"</worksheet>", b"<!--" + spaces.encode() + b"--></worksheet>")})),
        "shapefile_ratio_bomb": ("places.zip", _shapefile_zip("p", {"p.txt": b"\0" * (60 << 20)})),
        "many_members": ("places.zip", _shapefile_zip("p", {f"m/{i}.txt": b"" for i in range(1_200)})),
        "huge_declared_size": ("places.kmz", _lying_sizes(_zip({"doc.kml": _kml("巨大学校")}), 0xFFFF0000)),
        "lying_small_size": ("places.kmz", _lying_sizes(_zip({"doc.kml": _kml("说谎学校", padding=" " * 100_000)}),
                                                        200)),
        "nested_zip": ("places.zip", _zip({"inner.zip": _shapefile_zip("p")})),
        "encrypted_flag_garbage": ("places.kmz", _zip({"doc.kml": b"x"}).replace(b"PK\x03\x04\x14\x00\x00",
                                                                                   b"PK\x03\x04\x14\x00\x01")),
        # XML with DTDs: external entities (XXE) and entity expansion (billion laughs)
        "kml_xxe": ("places.kml", _kml("&xxe;", doctype=xxe)),
        "kml_billion_laughs": ("places.kml", _kml("&j;", doctype=f"<!DOCTYPE kml [{_laughs()}]>")),
        "kml_internal_entity": ("places.kml", _kml("&e;", doctype='<!DOCTYPE kml [<!ENTITY e "实体学校">]>')),
        "kmz_xxe": ("places.kmz", _zip({"doc.kml": _kml("&xxe;", doctype=xxe)})),
        "xlsx_xxe_sheet": ("places.xlsx", _xlsx({"xl/worksheets/sheet1.xml": _with_doctype(
            sheet, xxe_xlsx, "表格学校".encode(), b"&xxe;")})),
        "xlsx_internal_entity": ("places.xlsx", _xlsx({"xl/worksheets/sheet1.xml": _with_doctype(
            sheet, '<!DOCTYPE worksheet [<!ENTITY e "实体表格学校">]>', "表格学校".encode(), b"&e;")})),
        "xlsx_billion_laughs_workbook": ("places.xlsx", _xlsx({"xl/workbook.xml": _with_doctype(
            workbook, f"<!DOCTYPE workbook [{_laughs()}]>", b"<sheets>", b"<sheets>&j;")})),
        # member names that leave the archive
        "shapefile_traversal": ("places.zip", _shapefile_zip("../../tmp/gridmap-evil/p")),
        "shapefile_absolute": ("places.zip", _shapefile_zip("/tmp/gridmap-evil/p")),
        "shapefile_backslash": ("places.zip", _shapefile_zip("..\\..\\p")),
        "shapefile_etc_passwd_member": ("places.zip", _shapefile_zip("p", {"../../etc/passwd": b"root:x:0:0"})),
        "kmz_traversal": ("places.kmz", _zip({"../doc.kml": _kml("穿越学校")})),
        # wrong magic: a type named as another
        "png_as_geojson": ("places.geojson", PNG),
        "png_as_kml": ("places.kml", PNG),
        "png_as_xlsx": ("places.xlsx", PNG),
        "png_as_csv": ("places.csv", PNG),
        "gpkg_as_csv": ("places.csv", _gpkg()),
        "gpkg_as_geojson": ("places.geojson", _gpkg()),
        "gpkg_as_zip": ("places.zip", _gpkg()),
        "zip_as_gpkg": ("places.gpkg", _shapefile_zip("p")),
        "csv_as_gpkg": ("places.gpkg", PLACES_CSV),
        "kmz_as_kml": ("places.kml", _zip({"doc.kml": _kml("压缩学校")})),
        "html_as_kml": ("places.kml", b"<html><body><script>alert(1)</script></body></html>"),
        "database_not_gpkg": ("places.gpkg", _fixture("not_a_geopackage.gpkg")),
        "gpkg_view_runs_sql": ("places.gpkg", _fixture("view_layer.gpkg")),
        "gpkg_generated_column_runs_sql": ("places.gpkg", _fixture("generated_column.gpkg")),
    }


# GeoPackages that make a reader run the file's own SQL, and a database file that is no
# GeoPackage, kept as small fixture files (tests/fixtures/geo/hostile/README.md says how
# each was made): view_layer.gpkg's layer is a view, generated_column.gpkg's name column is
# GENERATED ALWAYS AS (...); the red-team runs against the demo imported both.
HOSTILE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "geo" / "hostile"


def _fixture(name: str) -> bytes:
    return (HOSTILE_FIXTURES / name).read_bytes()


# CRS strings a caller may send with a valid file: none may reach PROJ or GDAL.
def hostile_crs(secret: str, port: int) -> dict[str, str]:
    return {
        "crs_vsicurl": f"/vsicurl/http://127.0.0.1:{port}/crs.wkt",
        "crs_url": f"http://127.0.0.1:{port}/crs.json",
        "crs_proj_pipeline": "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad",
        "crs_proj_init_file": f"+init={secret}:x",
        "crs_grid_from_url": f"+proj=longlat +nadgrids=@http://127.0.0.1:{port}/g.tif",
        "crs_wkt_extension": 'GEOGCS["x",EXTENSION["PROJ4","+proj=longlat +init=/etc/passwd:x"]]',
        "crs_projjson_url": json.dumps({"$schema": f"http://127.0.0.1:{port}/s.json", "type": "GeographicCRS"}),
    }
