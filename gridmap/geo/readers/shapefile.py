"""Shapefile in a zip (.zip): the one shapefile in the archive (any folder), extracted within
zipguard's bounds and read through GDAL, its attributes' encoding detected (GBK is common).

DBF field names hold 10 bytes, and ogr2ogr and QGIS cut longer ones there, byte-wise: a UTF-8
``社区编码号`` is stored as ``社区编`` and the first byte of ``码``, which no decoder accepts. Such a
cut character is dropped from the extracted copy's header (``社区编``), so the file reads and
the names offered for ``code_field`` and friends are the ones GDAL then reports."""

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
    with open(os.path.join(folder, "layer.dbf"), "r+b") as dbf:
        encoding = _encoding(dbf, cpg)
        if encoding is not None:
            _drop_cut_characters(dbf, encoding)
        return encoding


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


_DESCRIPTOR = 32  # bytes per field descriptor; the name is its first 11 (NUL-padded)
_NAME_BYTES = 11
_MAX_FIELDS = 2046  # GDAL's limit; a header claiming more is not read further here
_MAX_CUT = 3  # a cut character leaves at most 3 of its bytes (UTF-8 and GB18030 alike)


def _drop_cut_characters(dbf: Any, encoding: str) -> None:
    """Rewrite, in place, each field name of the DBF header that ends in a character cut short
    (its bytes do not decode in ``encoding``, but a prefix shorter by at most 3 bytes does)."""
    dbf.seek(0)
    header = dbf.read(32)
    if len(header) < 32:
        return
    header_len = min(int.from_bytes(header[8:10], "little"), 32 + _DESCRIPTOR * _MAX_FIELDS)
    descriptors = dbf.read(max(0, header_len - 32))
    for start in range(0, len(descriptors) - _DESCRIPTOR + 1, _DESCRIPTOR):
        if descriptors[start] == 0x0D:  # the header's terminator
            break
        raw = descriptors[start : start + _NAME_BYTES].split(b"\0", 1)[0]
        whole = _whole_prefix(raw, encoding)
        if whole is not None:
            dbf.seek(32 + start)
            dbf.write(whole.ljust(_NAME_BYTES, b"\0"))


def _whole_prefix(name: bytes, encoding: str) -> bytes | None:
    """``name`` without its cut last character, or None when it needs no repair (or is not merely
    cut: invalid bytes elsewhere are left for the reader to refuse)."""
    if _decodes(name, encoding):
        return None
    for cut in range(1, min(_MAX_CUT, len(name) - 1) + 1):
        if _decodes(name[:-cut], encoding):
            return name[:-cut]
    return None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
