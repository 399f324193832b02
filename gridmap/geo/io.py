"""Read uploaded files into plain structures: a FeatureTable or a DataFrame of strings.

Nothing here validates business fields or converts coordinates: readers return what
the file says (all attribute values as strings), and report per-feature geometry
problems instead of failing the whole file. A file that cannot be read at all raises
:class:`FileReadError` (or :class:`EmptyFileError`); an unknown extension raises
:class:`FileFormatError`. Both carry a ``gridmap.messages`` code and its params.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridmap.geo import lockdown, safe_open, zipguard  # noqa: F401 - lockdown: GDAL/PROJ options first
from gridmap.geo.crs import CrsError, parse_crs
from gridmap.geo.file_errors import EmptyFileError, FileFormatError, FileReadError, FileRefusedError, GeoFileError
from gridmap.geo.validate import _GEOJSON_TYPES, Problem, _expected_text, parse_geojson_geometry
from gridmap.labels import label

__all__ = [
    "FORMATS",
    "GeoFileError",
    "FileFormatError",
    "FileReadError",
    "EmptyFileError",
    "FileRefusedError",
    "FeatureTable",
    "detect_format",
    "read_features",
    "read_table",
]

FORMATS: dict[str, str] = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shapefile_zip",
    ".kml": "kml",
    ".kmz": "kml",
    ".csv": "csv",
    ".xlsx": "xlsx",
}
FEATURE_FORMATS = frozenset({"geojson", "gpkg", "shapefile_zip", "kml"})
TABLE_FORMATS = frozenset({"csv", "xlsx"})


# --- results -------------------------------------------------------------------------


@dataclass
class FeatureTable:
    """Features read from a vector file, row i of each part describing feature i.

    * ``properties`` - one row per feature, every value a ``str`` ("" when null);
    * ``geometries`` - object array of 2-D shapely geometries, None where missing or
      unreadable (coordinates as stored in the file, *not* converted);
    * ``problems`` - object array, None or a :class:`~gridmap.geo.validate.Problem`;
    * ``crs`` - the CRS the file declares, normalised like ``parse_crs``
      ("wgs84", "EPSG:4547", ...), or None when it declares none (plain GeoJSON).
    """

    properties: pd.DataFrame
    geometries: np.ndarray
    problems: np.ndarray
    crs: str | None = None

    def __len__(self) -> int:
        return len(self.geometries)


def detect_format(filename: str) -> str:
    """``geojson``, ``gpkg``, ``shapefile_zip``, ``kml``, ``csv`` or ``xlsx`` from the name.

    Case-insensitive on the extension (.geojson/.json, .gpkg, .zip, .kml/.kmz, .csv,
    .xlsx). Anything else raises :class:`FileFormatError`.
    """
    ext = os.path.splitext(filename or "")[1].lower()
    try:
        return FORMATS[ext]
    except KeyError:
        raise FileFormatError(filename) from None


# --- value conversion ----------------------------------------------------------------


def _float_str(v: float) -> str:
    if not math.isfinite(v):
        return ""
    if v.is_integer() and abs(v) < 2**53:
        return str(int(v))  # 331102001.0 -> "331102001": codes often arrive as floats
    return repr(v)


def _cell_str(v: Any) -> str:
    """One attribute value as text. Null -> ""; integral floats lose their ".0"."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float_str(v)
    if isinstance(v, _dt.datetime):
        if v.time() == _dt.time(0) and v.tzinfo is None:
            return v.date().isoformat()  # Excel stores plain dates as midnight datetimes
        return v.isoformat()
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, Decimal):
        if not v.is_finite():
            return ""
        return str(int(v)) if v == v.to_integral_value() else str(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, np.generic):
        return _cell_str(v.item())
    return str(v)


def _column_str(values: Any) -> np.ndarray:
    """A column (numpy array or sequence) as an object array of str, vectorised by dtype."""
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(str).astype(object)
    if kind == "b":
        return np.where(arr, "true", "false").astype(object)
    if kind == "f":
        out = arr.astype(str).astype(object)
        finite = np.isfinite(arr)
        integral = finite & (np.abs(arr) < 2**53)
        integral[integral] = arr[integral] == np.floor(arr[integral])
        out[integral] = arr[integral].astype(np.int64).astype(str)
        out[~finite] = ""
        return out
    if kind == "M":
        out = np.datetime_as_string(arr).astype(object)
        out[np.isnat(arr)] = ""
        return out
    if kind == "U":
        return arr.astype(object)
    arr = arr.astype(object, copy=False)
    return np.fromiter((_cell_str(v) for v in arr), dtype=object, count=arr.size)


def _unique_names(names: list[Any]) -> list[str]:
    """Column names: stripped strings, blanks named like pandas, duplicates suffixed."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        text = _cell_str(name).strip() if name is not None else ""
        if text == "":
            text = f"Unnamed: {i}"
        if text in seen:
            seen[text] += 1
            text = f"{text}.{seen[text]}"
        else:
            seen[text] = 0
        out.append(text)
    return out


def _string_frame(columns: dict[str, Any], n: int) -> pd.DataFrame:
    data = {name: _column_str(values) for name, values in columns.items()}
    return pd.DataFrame(data, index=pd.RangeIndex(n), dtype=object) if data else pd.DataFrame(index=pd.RangeIndex(n))


def _crs_from_file(value: Any) -> str | None:
    """A CRS string found in a file (EPSG:n, URN, WKT) -> parse_crs form, or None."""
    if not value:
        return None
    safe_open.check_crs_definition(str(value))  # file content: never a PROJ string, grid or URL
    text = str(value).strip()
    m = re.search(r"EPSG:{1,2}(\d+)\s*$", text, re.IGNORECASE)
    if m:
        text = f"EPSG:{m.group(1)}"
    elif re.search(r"CRS84\s*$", text, re.IGNORECASE):
        return "wgs84"
    try:
        return parse_crs(text)
    except CrsError:
        pass
    try:
        from pyproj import CRS

        epsg = CRS.from_user_input(value).to_epsg(min_confidence=70)
    except Exception:  # noqa: BLE001 - any unparsable definition just means "unknown"
        return None
    if epsg is None:
        return None
    try:
        return parse_crs(f"EPSG:{epsg}")
    except CrsError:
        return None


# --- GeoJSON -------------------------------------------------------------------------


def _decode_text(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileReadError("文件编码无法识别，请使用 UTF-8 编码")


def _read_geojson(path: str, expected: set[str] | None) -> FeatureTable:
    with open(path, "rb") as f:
        raw = f.read()
    text = _decode_text(raw)
    if not text.strip():
        raise EmptyFileError()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileReadError(f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    except RecursionError:
        raise FileReadError("JSON 嵌套层级过深") from None
    if not isinstance(doc, dict):
        raise FileReadError("不是 GeoJSON（应为 FeatureCollection、Feature 或几何对象）")
    dtype = doc.get("type")
    if dtype == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise FileReadError("FeatureCollection 缺少 features 数组")
    elif dtype == "Feature":
        features = [doc]
    elif dtype in _GEOJSON_TYPES:
        features = [{"type": "Feature", "geometry": doc, "properties": {}}]
    else:
        raise FileReadError("不是 GeoJSON（应为 FeatureCollection、Feature 或几何对象）")
    if not features:
        raise EmptyFileError()

    crs = None
    declared = doc.get("crs")
    if isinstance(declared, dict):
        props = declared.get("properties")
        if isinstance(props, dict):
            crs = _crs_from_file(props.get("name"))

    n = len(features)
    geometries = np.full(n, None, dtype=object)
    problems = np.full(n, None, dtype=object)
    records: list[dict[str, Any]] = []
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems[i] = Problem("geometry_unreadable", {"reason": "不是 GeoJSON Feature 对象"})
            records.append({})
            continue
        props = feature.get("properties")
        records.append(props if isinstance(props, dict) else {})
        geometries[i], problems[i] = parse_geojson_geometry(feature.get("geometry"), expected)

    names: list[str] = []
    seen: set[str] = set()
    for rec in records:
        for key in rec:
            if key not in seen:
                seen.add(key)
                names.append(key)
    columns = {str(name): [rec.get(name) for rec in records] for name in names}
    columns_out = dict(zip(_unique_names(list(columns)), columns.values()))
    frame = pd.DataFrame(
        {
            name: np.fromiter((_cell_str(v) for v in values), dtype=object, count=n)
            for name, values in columns_out.items()
        },
        index=pd.RangeIndex(n),
    )
    return FeatureTable(frame, geometries, problems, crs)


# --- OGR formats (GeoPackage, Shapefile in a zip, KML) -------------------------------


_SHAPE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _zip_shapefile(path: str, folder: str) -> tuple[str, str | None]:
    """The one shapefile in the zip, extracted (within zipguard's bounds) into ``folder`` as
    layer.shp/.shx/.dbf/.prj/.cpg, and the encoding to read it with. Member names never
    become paths: only the fixed names above are written, and only these five parts."""
    with zipguard.open_archive(path, "Shapefile 压缩包") as zf:
        names = [n for n in zf.namelist() if not n.startswith("__MACOSX/") and not os.path.basename(n).startswith("._")]
        shps = [n for n in names if n.lower().endswith(".shp")]
        if not shps:
            raise FileReadError("压缩包中没有 .shp 文件")
        if len(shps) > 1:
            listed = "、".join(sorted(os.path.basename(n) for n in shps)[:5])
            raise FileReadError(f"压缩包中有多个 Shapefile（{listed}），请每次只上传一个")
        stem = shps[0][:-4]
        siblings = {n[len(stem) :].lower(): n for n in names if n[: len(stem)] == stem}
        for ext, what in ((".shx", "索引"), (".dbf", "属性表")):
            if ext not in siblings:
                raise FileReadError(f"压缩包中缺少 {os.path.basename(stem)}{ext}（{what}）")
        reader = zipguard.Reader(zf)
        for ext in _SHAPE_PARTS:
            if ext == ".prj" and ext in siblings:
                prj = reader.read_member(siblings[ext])
                safe_open.check_crs_definition(prj.decode("utf-8", "replace"))
            if ext in siblings:
                reader.extract_member(siblings[ext], os.path.join(folder, "layer" + ext))
    source = os.path.join(folder, "layer.shp")
    safe_open.check_shape_file(source, ".shp")
    safe_open.check_shape_file(os.path.join(folder, "layer.shx"), ".shx")
    cpg = None
    if ".cpg" in siblings:
        with open(os.path.join(folder, "layer.cpg"), "rb") as f:
            cpg = f.read(64).decode("ascii", "replace").strip()
    with open(os.path.join(folder, "layer.dbf"), "rb") as dbf:
        encoding = _shapefile_encoding(dbf, cpg)
    return source, encoding


_UTF8_NAMES = {"utf-8", "utf8", "65001"}
_SNIFF_BYTES = 4 << 20


def _shapefile_encoding(dbf: Any, cpg: str | None) -> str | None:
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


def _ogr_error(exc: Exception, paths: tuple[str, ...], filename: str, fmt: str) -> FileReadError:
    detail = str(exc)
    for path in paths:  # no server paths in messages
        detail = detail.replace(os.path.abspath(path), filename).replace(path, filename)
    detail = detail.strip()
    format_name = label(fmt, "file_format")
    if (
        "not recognized as being in a supported file format" in detail
        or "not recognized as a supported file format" in detail
    ):
        return FileReadError(f"文件内容不是有效的 {format_name}")
    return FileReadError(f"{format_name} 无法读取（{detail[:200]}）" if detail else f"{format_name} 无法读取")


def _read_layer(source: str, layer: Any, encoding: str | None, expected: set[str] | None):
    from pyogrio.raw import read as ogr_read

    meta, _fids, wkb, field_data = ogr_read(
        source, layer=layer, encoding=encoding, force_2d=True, datetime_as_string=True
    )
    names = [str(n) for n in meta["fields"]]
    n = len(field_data[0]) if field_data else (len(wkb) if wkb is not None else 0)
    if wkb is None:
        wkb = np.full(n, None, dtype=object)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    problems = np.full(n, None, dtype=object)
    null_wkb = pd.isna(wkb).astype(bool) if n else np.zeros(0, dtype=bool)
    problems[null_wkb] = Problem("geometry_missing")
    failed = np.flatnonzero(~null_wkb & shapely.is_missing(geoms))
    for i in failed:
        problems[i] = _wkb_problem(wkb[i])
    if expected is not None and n:
        ok = ~shapely.is_missing(geoms)
        types = shapely.get_type_id(geoms)
        expected_ids = [_TYPE_IDS[t] for t in expected if t in _TYPE_IDS]
        wrong = ok & ~np.isin(types, expected_ids)
        if wrong.any():
            exp = _expected_text(expected)
            for i in np.flatnonzero(wrong):
                problems[i] = Problem("geometry_wrong_type", {"expected": exp, "actual": geoms[i].geom_type})
                geoms[i] = None
    columns = dict(zip(_unique_names(names), field_data))
    return _string_frame(columns, n), geoms, problems, _crs_from_file(meta.get("crs"))


_TYPE_IDS = {
    "Point": 0,
    "LineString": 1,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
    "GeometryCollection": 7,
}


def _wkb_problem(wkb: bytes) -> Problem:
    try:
        shapely.from_wkb(wkb)
    except Exception as exc:  # noqa: BLE001 - GEOS says why; only the text is used
        text = str(exc)
        if "closed" in text:
            return Problem("ring_not_closed")
        if "at least 4" in text or "Invalid number of points" in text:
            return Problem("ring_too_short")
        return Problem("geometry_unreadable", {"reason": text[:200]})
    return Problem("geometry_unreadable", {"reason": "WKB 无法解析"})


def _read_ogr(path: str, filename: str, fmt: str, expected: set[str] | None) -> FeatureTable:
    """A GeoPackage (opened as GPKG only, never by content) or the zip's extracted Shapefile."""
    import pyogrio

    encoding = None
    with tempfile.TemporaryDirectory(prefix="gridmap-shp-") as folder:
        source = f"GPKG:{path}"
        try:
            if fmt == "shapefile_zip":
                source, encoding = _zip_shapefile(path, folder)
                layers: list[Any] = [0]
            else:
                listed = pyogrio.list_layers(source)
                layers = [str(name) for name, gtype in listed if gtype is not None]
                if len(layers) > 1:
                    names = "、".join(layers[:5])
                    raise FileReadError(f"{label(fmt, 'file_format')} 中有多个图层（{names}），请每次只上传一个")
            if not layers:
                raise EmptyFileError()
            parts = [_read_layer(source, layer, encoding, expected) for layer in layers]
        except GeoFileError:
            raise
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - GDAL/pyogrio raise many types for bad files
            raise _ogr_error(exc, (source, path, folder), filename, fmt) from exc

    frame, geoms, problems, crs = parts[0]
    if len(geoms) == 0:
        raise EmptyFileError()
    return FeatureTable(frame, np.asarray(geoms, dtype=object), problems, crs)


# --- KML / KMZ -----------------------------------------------------------------------

_KML_GEOMETRIES = frozenset({"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry"})
_COMMA_RE = re.compile(r"\s*,\s*")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _kml_bytes(path: str, kmz: bool) -> bytes:
    """A .kml file's bytes, or a .kmz's doc.kml (else its first .kml), read within zipguard's bounds."""
    if not kmz:
        with open(path, "rb") as f:
            return f.read()
    with zipguard.open_archive(path, "KMZ 文件") as zf:
        names = [n for n in zf.namelist() if n.lower().endswith(".kml")]
        if not names:
            raise FileReadError("KMZ 中没有 .kml 文件")
        name = "doc.kml" if "doc.kml" in names else sorted(names, key=lambda n: (n.count("/"), n))[0]
        return zipguard.Reader(zf).read_member(name)


def _kml_coordinates(text: str | None) -> list[list[Any]]:
    """KML "lon,lat[,alt] lon,lat ..." -> positions; unparsable numbers become None."""
    out: list[list[Any]] = []
    for token in _COMMA_RE.sub(",", (text or "").strip()).split():
        values: list[Any] = []
        for part in token.split(","):
            try:
                values.append(float(part))
            except ValueError:
                values.append(None)
        out.append(values)
    return out


def _kml_geometry(el: Any) -> dict[str, Any] | None:
    """A KML geometry element -> GeoJSON geometry dict (validated later)."""
    kind = _local(el.tag)

    def coords_of(node: Any) -> list[list[Any]]:
        for child in node.iter():
            if _local(child.tag) == "coordinates":
                return _kml_coordinates(child.text)
        return []

    if kind == "Point":
        positions = coords_of(el)
        return {"type": "Point", "coordinates": positions[0] if positions else []}
    if kind == "LineString":
        return {"type": "LineString", "coordinates": coords_of(el)}
    if kind == "LinearRing":
        return {"type": "Polygon", "coordinates": [coords_of(el)]}
    if kind == "Polygon":
        outer: list[list[list[Any]]] = []
        inner: list[list[list[Any]]] = []
        for child in el:
            name = _local(child.tag)
            if name == "outerBoundaryIs":
                outer.append(coords_of(child))
            elif name == "innerBoundaryIs":
                inner.extend(coords_of(ring) for ring in child if _local(ring.tag) == "LinearRing")
        return {"type": "Polygon", "coordinates": outer[:1] + inner}
    if kind == "MultiGeometry":
        parts: list[dict[str, Any]] = []
        for child in el:
            if _local(child.tag) in _KML_GEOMETRIES:
                part = _kml_geometry(child)
                if part is None:
                    continue
                parts.extend(part["geometries"] if part["type"] == "GeometryCollection" else [part])
        kinds = {p["type"] for p in parts}
        if kinds == {"Polygon"}:
            return {"type": "MultiPolygon", "coordinates": [p["coordinates"] for p in parts]}
        if kinds == {"LineString"}:
            return {"type": "MultiLineString", "coordinates": [p["coordinates"] for p in parts]}
        if kinds == {"Point"}:
            return {"type": "MultiPoint", "coordinates": [p["coordinates"] for p in parts]}
        return {"type": "GeometryCollection", "geometries": parts}
    return None


def _kml_placemark(pm: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    props: dict[str, Any] = {"name": "", "description": ""}
    geometry = None
    for child in pm:
        name = _local(child.tag)
        if name in ("name", "description"):
            props[name] = (child.text or "").strip()
        elif name == "ExtendedData":
            for item in child.iter():
                kind = _local(item.tag)
                if kind == "Data" and item.get("name"):
                    value = next((v.text for v in item if _local(v.tag) == "value"), None)
                    props[item.get("name").strip()] = (value or "").strip()
                elif kind == "SimpleData" and item.get("name"):
                    props[item.get("name").strip()] = (item.text or "").strip()
        elif name in _KML_GEOMETRIES and geometry is None:
            geometry = _kml_geometry(child)
    return props, geometry


def _read_kml(path: str, kmz: bool, expected: set[str] | None) -> FeatureTable:
    from xml.etree.ElementTree import ParseError

    raw = _kml_bytes(path, kmz)
    if not raw.strip():
        raise EmptyFileError()
    try:
        root = safe_open.parse_xml(raw)  # no DTD, no entities (XXE, billion laughs)
    except (ParseError, ValueError) as exc:
        if isinstance(exc, FileRefusedError):
            raise
        # expat knows no multi-byte legacy encodings such as GBK: decode ourselves.
        try:
            text = re.sub(r"^\s*<\?xml[^>]*\?>", "", _decode_text(raw), count=1)
            root = safe_open.parse_xml(text)
        except (ParseError, ValueError) as again:
            if isinstance(again, FileRefusedError):
                raise
            raise FileReadError(f"KML 格式错误（{exc}）") from None
    if _local(root.tag) != "kml":
        raise FileReadError("文件内容不是有效的 KML")
    records: list[dict[str, Any]] = []
    geometries: list[Any] = []
    problems: list[Any] = []
    for pm in root.iter():
        if _local(pm.tag) != "Placemark":
            continue
        props, geometry = _kml_placemark(pm)
        geom, problem = parse_geojson_geometry(geometry, expected)
        records.append(props)
        geometries.append(geom)
        problems.append(problem)
    if not records:
        raise EmptyFileError()
    n = len(records)
    names: dict[str, None] = {}
    for rec in records:
        names.update(dict.fromkeys(rec))
    frame = pd.DataFrame(
        {name: np.array([rec.get(name, "") for rec in records], dtype=object) for name in names},
        index=pd.RangeIndex(n),
    )
    geom_arr = np.empty(n, dtype=object)
    geom_arr[:] = geometries
    prob_arr = np.empty(n, dtype=object)
    prob_arr[:] = problems
    return FeatureTable(frame, geom_arr, prob_arr, "wgs84")


def read_features(path: str, filename: str, expected: set[str] | None = None) -> FeatureTable:
    """Read a GeoJSON, GeoPackage, zipped Shapefile or KML/KMZ file.

    ``path`` is where the upload is stored, ``filename`` the user's file name (it
    picks the format and appears in messages). ``expected`` (e.g. ``{"Polygon",
    "MultiPolygon"}``) turns other geometry types into per-feature
    ``geometry_wrong_type`` problems (their geometry is then None).

    GeoJSON is parsed here, so bad coordinates, unclosed rings and the like become
    per-feature problems (see ``parse_geojson_geometry``). The other formats go
    through GDAL (pyogrio); Z is dropped. A GeoPackage must hold one spatial layer,
    a zip one shapefile (any folder). Shapefile attributes in GBK/GB18030 are
    detected (see ``_shapefile_encoding``).

    KML/KMZ is parsed here too (every Placemark in every Folder): GDAL's LIBKML
    driver turns Chinese ExtendedData names into underscores and its KML driver drops
    ExtendedData, so neither can deliver columns like 编码/名称. Columns: ``name``,
    ``description`` and each ExtendedData Data/SimpleData name.

    Raises FileFormatError (unknown or table extension), FileReadError, EmptyFileError.
    """
    fmt = detect_format(filename)
    if fmt not in FEATURE_FORMATS:
        raise FileFormatError(filename)
    extension = os.path.splitext(filename)[1].lower()
    try:
        safe_open.check_content(path, extension)
        if fmt == "geojson":
            return _read_geojson(path, expected)
        if fmt == "kml":
            return _read_kml(path, extension == ".kmz", expected)
    except GeoFileError:
        raise
    except OSError as exc:
        raise FileReadError(f"文件无法打开（{exc.strerror or exc}）") from exc
    return _read_ogr(path, filename, fmt, expected)


# --- tables (CSV, XLSX) --------------------------------------------------------------

_CHUNK = 1 << 20


def _utf8_name(path: str) -> str:
    """utf-8-sig only when the file starts with a BOM: pandas parses plain utf-8 natively, ~15% faster."""
    with open(path, "rb") as f:
        return "utf-8-sig" if f.read(3) == codecs.BOM_UTF8 else "utf-8"


def _csv_encoding(path: str) -> str:
    """UTF-8 when the whole file is valid UTF-8, else gb18030 (Excel's Chinese CSV)."""
    for encoding in (_utf8_name(path), "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileReadError("文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV")


def _csv_separator(path: str, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as f:
        first = f.readline()
    counts = {sep: first.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


_FIELDS_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_csv(path: str) -> pd.DataFrame:
    """Parse as UTF-8 first: pandas decodes every field strictly, so a clean parse means the
    file is UTF-8 without a separate pass over it. A decoding or parse error falls back to
    the full scan of _csv_encoding (a GBK byte can look like a separator to a UTF-8 parse)."""
    if os.path.getsize(path) == 0:
        raise EmptyFileError()
    utf8 = _utf8_name(path)
    try:
        frame = _parse_csv(path, utf8)
    except (UnicodeDecodeError, FileReadError) as error:
        encoding = _csv_encoding(path)
        if encoding == utf8:
            raise error if isinstance(error, FileReadError) else FileReadError("CSV 格式错误") from None
        frame = _parse_csv(path, encoding)
    frame.columns = _unique_names([str(c) if not str(c).startswith("Unnamed: ") else "" for c in frame.columns])
    frame.attrs["header_row"] = 1
    return frame


def _parse_csv(path: str, encoding: str) -> pd.DataFrame:
    sep = _csv_separator(path, encoding)
    try:
        return pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            encoding=encoding,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise EmptyFileError() from None
    except pd.errors.ParserError as exc:
        m = _FIELDS_RE.search(str(exc))
        if m:
            expected, line, saw = m.groups()
            raise FileReadError(f"第 {line} 行有 {saw} 列，与表头的 {expected} 列不一致") from None
        raise FileReadError("CSV 格式错误") from None


def _header_index(rows: list[tuple]) -> int:
    """Index of the header among the first rows: skips blank and one-cell title rows."""
    filled = [sum(1 for v in r if v is not None and str(v).strip() != "") for r in rows]
    for i, count in enumerate(filled):
        if count == 0:
            continue
        if count == 1 and any(c >= 2 for c in filled[i + 1 :]):
            continue  # a title such as "莲都区某社区住户表" above the real header
        return i
    return 0


def _read_xlsx(path: str) -> pd.DataFrame:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)  # XML through defusedxml
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises zip, XML, Key and Value errors
        raise safe_open.refused_xml() if safe_open.is_refused_xml(exc) else FileReadError(
            "不是有效的 Excel（.xlsx）文件") from None
    try:
        if not wb.worksheets:
            raise EmptyFileError()
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # trust the cells, not a possibly wrong <dimension>
        rows = ws.iter_rows(values_only=True)
        head: list[tuple] = []
        for row in rows:
            head.append(row)
            if len(head) >= 6:
                break
        if not head:
            raise EmptyFileError()
        h = _header_index(head)
        header = list(head[h])
        body = head[h + 1 :]
        body.extend(rows)
    except GeoFileError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise safe_open.refused_xml() if safe_open.is_refused_xml(exc) else FileReadError(
            "Excel 文件内容无法读取") from None
    finally:
        wb.close()

    width = max([len(header)] + [len(r) for r in body])
    header = header + [None] * (width - len(header))
    while width > 0 and header[width - 1] is None and all(len(r) < width or r[width - 1] is None for r in body):
        width -= 1  # trailing columns with neither header nor data
    if width == 0:
        raise EmptyFileError()
    keep = [i for i, r in enumerate(body) if any(v is not None and v != "" for v in r)]
    if not keep:
        raise EmptyFileError()
    names = _unique_names(header[:width])
    columns = {}
    for j, name in enumerate(names):
        columns[name] = np.fromiter(
            (_cell_str(body[i][j]) if j < len(body[i]) else "" for i in keep), dtype=object, count=len(keep)
        )
    frame = pd.DataFrame(columns, index=pd.Index(keep, dtype=np.int64) if len(keep) != len(body) else None)
    frame.attrs["header_row"] = h + 1
    return frame


def _drop_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or frame.shape[1] == 0:
        return frame
    values = frame.to_numpy(dtype=object)
    blank = (values == "").all(axis=1)
    if blank.any():
        frame = frame.loc[~blank]
    return frame


def read_table(path: str, filename: str) -> pd.DataFrame:
    """Read a CSV or XLSX into a DataFrame whose values are all ``str`` ("" when blank).

    * Column names are stripped; blank ones become "Unnamed: i", duplicates get ".1".
    * Rows whose cells are all blank are dropped, but the index keeps each row's
      0-based position among data rows, so the spreadsheet row number of a frame
      row is ``index + frame.attrs["header_row"] + 1`` (exact for XLSX, and for CSV
      without multi-line quoted cells).
    * CSV: UTF-8 (with or without BOM), else GB18030; separator sniffed from the
      header line among , TAB ; | . Values are not stripped or converted.
    * XLSX: first worksheet; numbers -> text without a trailing ".0" when integral
      (phone numbers and codes), dates -> ISO; a one-cell title row above the header
      is skipped.

    Raises FileFormatError, FileReadError, EmptyFileError.
    """
    fmt = detect_format(filename)
    if fmt not in TABLE_FORMATS:
        raise FileFormatError(filename)
    try:
        safe_open.check_content(path, os.path.splitext(filename)[1])
        frame = _read_csv(path) if fmt == "csv" else _read_xlsx(path)
    except GeoFileError:
        raise
    except OSError as exc:
        raise FileReadError(f"文件无法打开（{exc.strerror or exc}）") from exc
    header_row = frame.attrs.get("header_row", 1)
    frame = _drop_blank_rows(frame)
    if len(frame) == 0:
        raise EmptyFileError()
    frame.attrs["header_row"] = header_row
    return frame
