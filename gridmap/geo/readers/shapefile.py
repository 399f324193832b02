"""Shapefile in a zip (.zip): the one shapefile in the archive (any folder), extracted within
zipguard's bounds and read through GDAL, its attributes' encoding detected (GBK is common)."""

from __future__ import annotations

import codecs
import os
import tempfile
from typing import Any

from gridmap.geo import safe_open, zipguard
from gridmap.geo.file_errors import FileReadError
from gridmap.geo.readers import ogr
from gridmap.geo.readers.common import FeatureTable

_SHAPE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_REQUIRED = {".shx": "shapefile_shx_missing", ".dbf": "shapefile_dbf_missing"}
_UTF8_NAMES = {"utf-8", "utf8", "65001"}
_SNIFF_BYTES = 4 << 20


def read(path: str, filename: str, expected: set[str] | None) -> FeatureTable:
    with tempfile.TemporaryDirectory(prefix="gridmap-shp-") as folder:
        source = os.path.join(folder, "layer.shp")
        with ogr.reading(filename, "shapefile_zip", source, path, folder):
            encoding = _extract(path, folder)
            return ogr.read_layer(source, 0, encoding, expected)


def _extract(path: str, folder: str) -> str | None:
    """The one shapefile in the zip, extracted (within zipguard's bounds) into ``folder`` as
    layer.shp/.shx/.dbf/.prj/.cpg, and the encoding to read it with. Member names never
    become paths: only the fixed names above are written, and only these five parts."""
    with zipguard.open_archive(path, "shapefile_zip") as zf:
        names = [n for n in zf.namelist() if not n.startswith("__MACOSX/") and not os.path.basename(n).startswith("._")]
        shps = [n for n in names if n.lower().endswith(".shp")]
        if not shps:
            raise FileReadError("shapefile_no_shp")
        if len(shps) > 1:
            raise FileReadError("shapefile_many", names="、".join(sorted(os.path.basename(n) for n in shps)[:5]))
        stem = shps[0][:-4]
        siblings = {n[len(stem) :].lower(): n for n in names if n[: len(stem)] == stem}
        for ext, why in _REQUIRED.items():
            if ext not in siblings:
                raise FileReadError(why, name=f"{os.path.basename(stem)}{ext}")
        reader = zipguard.Reader(zf)
        for ext in _SHAPE_PARTS:
            if ext == ".prj" and ext in siblings:
                prj = reader.read_member(siblings[ext])
                safe_open.check_crs_definition(prj.decode("utf-8", "replace"))
            if ext in siblings:
                reader.extract_member(siblings[ext], os.path.join(folder, "layer" + ext))
    safe_open.check_shape_file(os.path.join(folder, "layer.shp"), ".shp")
    safe_open.check_shape_file(os.path.join(folder, "layer.shx"), ".shx")
    cpg = None
    if ".cpg" in siblings:
        with open(os.path.join(folder, "layer.cpg"), "rb") as f:
            cpg = f.read(64).decode("ascii", "replace").strip()
    with open(os.path.join(folder, "layer.dbf"), "rb") as dbf:
        return _encoding(dbf, cpg)


def _encoding(dbf: Any, cpg: str | None) -> str | None:
    """Encoding to force for the DBF, or None to let GDAL follow the .cpg.

    Chinese shapefiles are often GBK without a .cpg (GDAL would then assume
    ISO-8859-1 and garble every name), or carry a .cpg that says UTF-8 while the
    bytes are GBK. So the first few MB of records are checked: valid UTF-8 -> UTF-8;
    otherwise a .cpg naming another code page is trusted; otherwise GB18030 (a
    superset of GBK and GB2312).
    """
    header = dbf.read(32)
    if len(header) < 32:
        return None
    header_len = int.from_bytes(header[8:10], "little")
    dbf.read(max(0, header_len - 32))
    data = dbf.read(_SNIFF_BYTES)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(data, final=False)  # a multi-byte character may be cut at the end
        is_utf8 = True
    except UnicodeDecodeError:
        is_utf8 = False
    if is_utf8:
        return "UTF-8"
    if cpg and cpg.strip().lower() not in _UTF8_NAMES:
        return None
    return "GB18030"
