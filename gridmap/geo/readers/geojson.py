"""GeoJSON (.geojson, .json): parsed here, so bad coordinates, unclosed rings and the like
become per-feature problems (see gridmap.geo.geojson_geometry)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from gridmap.geo.file_errors import EmptyFileError, FileReadError
from gridmap.geo.geojson_geometry import parse_geojson_geometry
from gridmap.geo.readers.common import FeatureTable, cell_str, crs_from_file, decode_text, unique_names
from gridmap.geo.validate import GEOMETRY_TYPES, Problem
from gridmap.messages import message


def _features(doc: Any) -> list[Any]:
    """The document's features: a FeatureCollection's, a Feature, or a bare geometry as one."""
    if not isinstance(doc, dict):
        raise FileReadError("not_geojson")
    dtype = doc.get("type")
    if dtype == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise FileReadError("geojson_features_missing")
        return features
    if dtype == "Feature":
        return [doc]
    if dtype in GEOMETRY_TYPES:
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    raise FileReadError("not_geojson")


def _declared_crs(doc: dict[str, Any]) -> str | None:
    """The legacy ``crs`` member (GeoJSON 2008), if any."""
    declared = doc.get("crs")
    if isinstance(declared, dict):
        props = declared.get("properties")
        if isinstance(props, dict):
            return crs_from_file(props.get("name"))
    return None


def read(path: str, filename: str, expected: set[str] | None) -> FeatureTable:
    with open(path, "rb") as f:
        raw = f.read()
    text = decode_text(raw)
    if not text.strip():
        raise EmptyFileError()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileReadError("json_syntax", line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise FileReadError("json_too_deep") from None
    features = _features(doc)
    if not features:
        raise EmptyFileError()
    crs = _declared_crs(doc)

    n = len(features)
    geometries = np.full(n, None, dtype=object)
    problems = np.full(n, None, dtype=object)
    records: list[dict[str, Any]] = []
    for i, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems[i] = Problem("geometry_unreadable", {"reason": message("geojson_not_feature")})
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
    columns_out = dict(zip(unique_names(list(columns)), columns.values()))
    frame = pd.DataFrame(
        {
            name: np.fromiter((cell_str(v) for v in values), dtype=object, count=n)
            for name, values in columns_out.items()
        },
        index=pd.RangeIndex(n),
    )
    return FeatureTable(frame, geometries, problems, crs)
