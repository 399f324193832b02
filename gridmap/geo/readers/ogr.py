"""One layer read through GDAL (pyogrio), shared by the GeoPackage and Shapefile readers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridmap.geo import lockdown  # noqa: F401 - GDAL/PROJ options before pyogrio opens anything
from gridmap.geo.file_errors import EmptyFileError, FileReadError, GeoFileError
from gridmap.geo.readers.common import FeatureTable, crs_from_file, string_frame, unique_names
from gridmap.geo.validate import GEOMETRY_MISSING, Problem, wrong_type
from gridmap.labels import label
from gridmap.messages import message

_TYPE_IDS = {
    "Point": 0,
    "LineString": 1,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
    "GeometryCollection": 7,
}


@contextmanager
def reading(filename: str, fmt: str, *paths: str) -> Iterator[None]:
    """Turn whatever GDAL/pyogrio raise for a bad file into a FileReadError naming ``filename``
    (never a server path); the readers' own errors pass through."""
    try:
        yield
    except (GeoFileError, MemoryError):
        raise
    except Exception as exc:  # GDAL/pyogrio raise many types for bad files
        raise _read_error(exc, paths, filename, fmt) from exc


def _read_error(exc: Exception, paths: tuple[str, ...], filename: str, fmt: str) -> FileReadError:
    detail = str(exc)
    for path in paths:  # no server paths in messages
        detail = detail.replace(os.path.abspath(path), filename).replace(path, filename)
    detail = detail.strip()
    format_name = label(fmt, "file_format")
    if (
        "not recognized as being in a supported file format" in detail
        or "not recognized as a supported file format" in detail
    ):
        return FileReadError("file_not_format", format=format_name)
    if detail:
        return FileReadError("format_unreadable_detail", format=format_name, detail=detail[:200])
    return FileReadError("format_unreadable", format=format_name)


def read_layer(source: str, layer: Any, encoding: str | None, expected: set[str] | None) -> FeatureTable:
    """The layer's features (EmptyFileError when it has none); geometry problems per feature."""
    from pyogrio.raw import read as ogr_read

    meta, _fids, wkb, field_data = ogr_read(
        source, layer=layer, encoding=encoding, force_2d=True, datetime_as_string=True
    )
    names = [str(n) for n in meta["fields"]]
    n = len(field_data[0]) if field_data else (len(wkb) if wkb is not None else 0)
    crs = crs_from_file(meta.get("crs"))
    if n == 0:
        raise EmptyFileError()
    if wkb is None:
        wkb = np.full(n, None, dtype=object)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    problems = np.full(n, None, dtype=object)
    null_wkb = pd.isna(wkb).astype(bool)
    problems[null_wkb] = GEOMETRY_MISSING
    failed = np.flatnonzero(~null_wkb & shapely.is_missing(geoms))
    for i in failed:
        problems[i] = _wkb_problem(wkb[i])
    if expected is not None:
        ok = ~shapely.is_missing(geoms)
        types = shapely.get_type_id(geoms)
        expected_ids = [_TYPE_IDS[t] for t in expected if t in _TYPE_IDS]
        wrong = ok & ~np.isin(types, expected_ids)
        for i in np.flatnonzero(wrong):
            problems[i] = wrong_type(expected, geoms[i].geom_type)
            geoms[i] = None
    columns = dict(zip(unique_names(names), field_data))
    return FeatureTable(string_frame(columns, n), np.asarray(geoms, dtype=object), problems, crs)


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
    return Problem("geometry_unreadable", {"reason": message("wkb_unreadable")})
