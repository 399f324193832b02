"""An upload's content checked against the type its extension declares, before any reader.

GDAL chooses a driver by content, so a file is only ever opened after its first bytes match
its declared type, and then with that type's reader alone (see gridmap.geo.io): an OGR VRT,
an HTML page or a GeoPackage cannot pass for another type. Also here: XML parsed without
DTDs or entities (defusedxml), and CRS definitions from files kept to plain WKT (no PROJ
strings, grid files or URLs). Pure: no Flask, no database.
"""

from __future__ import annotations

import re
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _defused_fromstring

from gridmap.geo import lockdown, zipguard  # noqa: F401 - lockdown: GDAL options before it opens a file
from gridmap.geo.file_errors import TYPE_MISMATCH, UNSAFE_CONTENT, FileRefusedError

# The 16 bytes a GeoPackage file starts with (GeoPackage 1.2, requirement 2).
GPKG_HEADER = bytes.fromhex("53514c69746520666f726d6174203300")
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
SHAPE_MAGIC = b"\x00\x00\x27\x0a"  # file code 9994, big-endian: .shp and .shx
_HEAD = 4096

# Other formats' signatures: none of them is a CSV, whatever the file is called.
_BINARY_MAGIC = (GPKG_HEADER, zipguard.ZIP_MAGIC, b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"\x1f\x8b",
                 b"\xd0\xcf\x11\xe0", b"7z\xbc\xaf", b"Rar!", b"BZh")
_UNSAFE_CRS = re.compile(r"EXTENSION\s*\[|\+\s*(init|proj|nadgrids|geoidgrids)|pipeline|://|/vsi|@|file:",
                         re.IGNORECASE)


def mismatch(why: str, **params: Any) -> FileRefusedError:
    """The content is not the declared type; ``why`` is a gridmap.messages ``mismatch_*`` key."""
    return FileRefusedError(TYPE_MISMATCH, why, **params)


def _head(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(_HEAD)


def _first_text_byte(head: bytes) -> bytes:
    """The first byte after a UTF-8 BOM and whitespace ("" for an empty or blank start)."""
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    return text.lstrip()[:1]


def check_geojson(path: str) -> None:
    """JSON text (the reader then requires an object of a GeoJSON type)."""
    head = _head(path)
    if head.strip() and _first_text_byte(head) not in (b"{", b"["):
        raise mismatch("mismatch_geojson")


def check_kml(path: str) -> None:
    head = _head(path)
    if head.startswith(zipguard.ZIP_MAGIC):
        raise mismatch("mismatch_kml_is_zip")
    if head.strip() and _first_text_byte(head) != b"<":
        raise mismatch("mismatch_kml")


def check_csv(path: str) -> None:
    head = _head(path)
    if any(head.startswith(magic) for magic in _BINARY_MAGIC):
        raise mismatch("mismatch_csv_binary")
    if _first_text_byte(head) == b"<":
        raise mismatch("mismatch_csv_markup")


def check_gpkg(path: str) -> None:
    """GeoPackage's header and tables, plain SRS definitions, and no SQL of the file's own run
    on reading: no views, and layers that are plain tables without generated columns (their
    expressions are evaluated when a layer is read). Inspected through GDAL's GeoPackage
    driver, the only reader the file is ever opened with (gridmap.geo.io)."""
    head = _head(path)
    if not head.startswith(GPKG_HEADER) or len(head) < 100:
        raise mismatch("mismatch_gpkg")
    if head[68:72] not in GPKG_APPLICATION_IDS and head[68:72] != b"\x00\x00\x00\x00":
        raise mismatch("mismatch_gpkg_application_id")
    kinds = dict(_gpkg_rows(path, "SELECT name, type FROM pragma_table_list WHERE schema = 'main'"))
    views = [name for name, kind in kinds.items() if kind == "view"]
    if views:
        raise FileRefusedError(UNSAFE_CONTENT, "gpkg_view", name=views[0][:40])
    computed = {table for (table,) in _gpkg_rows(
        path, "SELECT c.table_name FROM gpkg_contents c, pragma_table_xinfo(c.table_name) x WHERE x.hidden IN (2, 3)")}
    for (layer,) in _gpkg_rows(path, "SELECT table_name FROM gpkg_contents"):
        if kinds.get(layer) != "table" or layer in computed:
            raise FileRefusedError(UNSAFE_CONTENT, "gpkg_computed_layer", name=str(layer)[:40])
    columns = {name for (name,) in _gpkg_rows(path, "SELECT name FROM pragma_table_info('gpkg_spatial_ref_sys')")}
    for column in ("definition", "definition_12_063"):
        if column in columns:
            # the column and table names are fixed, not the file's text
            for (definition,) in _gpkg_rows(path, f"SELECT {column} FROM gpkg_spatial_ref_sys"):
                check_crs_definition(definition)


def _gpkg_rows(path: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` run in the GeoPackage through GDAL (a missing gpkg_contents or
    gpkg_spatial_ref_sys table, or a broken file, is a type mismatch)."""
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(f"GPKG:{path}", sql=sql, read_geometry=False)
    except Exception:  # noqa: BLE001 - GDAL raises many types for a file it cannot open
        raise mismatch("mismatch_gpkg_tables") from None
    return list(frame.itertuples(index=False, name=None))


def check_shape_file(path: str, what: str) -> None:
    """A .shp or .shx taken out of a zipped Shapefile: the shapefile file code first."""
    with open(path, "rb") as f:
        if f.read(4) != SHAPE_MAGIC:
            raise mismatch("mismatch_shape_part", part=what)


def plain_crs_definition(text: Any) -> bool:
    """True for an empty value or a WKT/EPSG name that names no PROJ string, grid, file or URL."""
    return not (isinstance(text, str) and _UNSAFE_CRS.search(text))


def check_crs_definition(text: Any) -> None:
    if not plain_crs_definition(text):
        raise FileRefusedError(UNSAFE_CONTENT, "crs_definition_unsafe")


def parse_xml(data: bytes | str) -> Any:
    """An ElementTree root; DTDs, entities and external references are refused."""
    try:
        return _defused_fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise refused_xml() from None


def refused_xml() -> FileRefusedError:
    return FileRefusedError(UNSAFE_CONTENT, "xml_dtd")


def is_refused_xml(exc: BaseException) -> bool:
    return isinstance(exc, DefusedXmlException)


XLSX_MEMBERS = ("[Content_Types].xml", "xl/workbook.xml")


def check_xlsx(path: str) -> None:
    """A bounded zip holding a workbook, every member decompressed once within the bounds
    (openpyxl then reads the zip itself; its XML parsing goes through defusedxml)."""
    with zipguard.open_archive(path, "xlsx") as zf:
        names = set(zf.namelist())
        if not all(member in names for member in XLSX_MEMBERS):
            raise mismatch("mismatch_xlsx")
        zipguard.Reader(zf).verify_members()


_CHECKS = {".geojson": check_geojson, ".json": check_geojson, ".gpkg": check_gpkg, ".kml": check_kml,
           ".csv": check_csv, ".xlsx": check_xlsx}


def check_content(path: str, extension: str) -> None:
    """Refuse (FileRefusedError) a file whose first bytes are not its declared type. Zips
    other than XLSX (.zip Shapefile, .kmz) are checked as their reader opens them."""
    check = _CHECKS.get(extension.lower())
    if check is not None:
        check(path)
