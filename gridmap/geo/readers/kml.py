"""KML (.kml) and KMZ (.kmz): parsed here, every Placemark in every Folder.

GDAL's LIBKML driver turns Chinese ExtendedData names into underscores and its KML driver
drops ExtendedData, so neither can deliver columns like 编码/名称. Columns: ``name``,
``description`` and each ExtendedData Data/SimpleData name. XML is parsed without DTDs or
entities (gridmap.geo.safe_open); coordinates are WGS-84 by the KML standard.
"""

from __future__ import annotations

import os
import re
from typing import Any
from xml.etree.ElementTree import ParseError

import numpy as np
import pandas as pd

from gridmap.geo import safe_open, zipguard
from gridmap.geo.file_errors import EmptyFileError, FileReadError, FileRefusedError
from gridmap.geo.geojson_geometry import parse_geojson_geometry
from gridmap.geo.readers.common import FeatureTable, decode_text
from gridmap.labels import label

_KML_GEOMETRIES = frozenset({"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry"})
_COMMA_RE = re.compile(r"\s*,\s*")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _kml_bytes(path: str, kmz: bool) -> bytes:
    """A .kml file's bytes, or a .kmz's doc.kml (else its first .kml), read within zipguard's bounds."""
    if not kmz:
        with open(path, "rb") as f:
            return f.read()
    with zipguard.open_archive(path, "kmz") as zf:
        names = [n for n in zf.namelist() if n.lower().endswith(".kml")]
        if not names:
            raise FileReadError("kmz_no_kml")
        name = "doc.kml" if "doc.kml" in names else min(names, key=lambda n: (n.count("/"), n))
        return zipguard.Reader(zf).read_member(name)


def _coordinates(text: str | None) -> list[list[Any]]:
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


def _geometry(el: Any) -> dict[str, Any] | None:
    """A KML geometry element -> GeoJSON geometry dict (validated later)."""
    kind = _local(el.tag)

    def coords_of(node: Any) -> list[list[Any]]:
        for child in node.iter():
            if _local(child.tag) == "coordinates":
                return _coordinates(child.text)
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
                part = _geometry(child)
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


def _placemark(pm: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
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
            geometry = _geometry(child)
    return props, geometry


def _root(raw: bytes) -> Any:
    """The document's root element; DTDs and entities refused."""
    try:
        return safe_open.parse_xml(raw)  # no DTD, no entities (XXE, billion laughs)
    except (ParseError, ValueError) as exc:
        if isinstance(exc, FileRefusedError):
            raise
        # expat knows no multi-byte legacy encodings such as GBK: decode ourselves.
        try:
            text = re.sub(r"^\s*<\?xml[^>]*\?>", "", decode_text(raw), count=1)
            return safe_open.parse_xml(text)
        except (ParseError, ValueError) as again:
            if isinstance(again, FileRefusedError):
                raise
            raise FileReadError("kml_syntax", detail=str(exc)) from None


def read(path: str, filename: str, expected: set[str] | None) -> FeatureTable:
    raw = _kml_bytes(path, os.path.splitext(filename)[1].lower() == ".kmz")
    if not raw.strip():
        raise EmptyFileError()
    root = _root(raw)
    if _local(root.tag) != "kml":
        raise FileReadError("file_not_format", format=label("kml", "file_format"))
    records: list[dict[str, Any]] = []
    geometries: list[Any] = []
    problems: list[Any] = []
    for pm in root.iter():
        if _local(pm.tag) != "Placemark":
            continue
        props, geometry = _placemark(pm)
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
