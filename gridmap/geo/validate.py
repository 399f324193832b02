"""Checks on coordinates and geometries. Problems are reported, never raised.

A :class:`Problem` names a code from ``gridmap.messages.MESSAGES`` plus the fields its
template needs; the service layer attaches the row/feature number and field name.
The ``check_*`` functions over arrays are vectorised: numpy masks and shapely 2 array
functions pick out the bad rows, and only those rows get a Problem object.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.labels import label
from gridmap.messages import message

__all__ = [
    "CHINA_BBOX",
    "GEOMETRY_TYPES",
    "Problem",
    "as_multipolygon",
    "check_points",
    "check_polygon",
    "check_polygons",
    "in_china_bbox",
    "parse_coordinates",
    "wrong_type",
]

# Rough bounding box of China (lon_min, lat_min, lon_max, lat_max). Deliberately
# generous: it only has to catch swapped, zeroed or foreign coordinates.
CHINA_BBOX = (73.4, 18.1, 135.1, 53.6)
# How far a boundary may pass outside the area that must contain it (digitising noise).
BOUNDARY_TOLERANCE_M = 1.0
POLYGON_TYPES = frozenset({"Polygon", "MultiPolygon"})


@dataclass(slots=True)
class Problem:
    """One problem with one row or feature: a message code and its template fields.

    Problems without parameters may be shared between rows; treat them as read-only.
    """

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The Chinese message, from the catalogue."""
        return message(self.code, **self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **({"params": self.params} if self.params else {})}


NOT_NUMBER = Problem("coordinate_not_number")
_MISSING = Problem("coordinate_missing")
_OUT_OF_RANGE = Problem("coordinate_out_of_range")
GEOMETRY_MISSING = Problem("geometry_missing")
GEOMETRY_EMPTY = Problem("geometry_empty")


# GeoJSON's geometry types, in the order messages list them.
_TYPE_ORDER = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")
GEOMETRY_TYPES = frozenset(_TYPE_ORDER)


def wrong_type(expected: set[str] | frozenset[str], actual: str) -> Problem:
    """geometry_wrong_type: the ``expected`` types listed in GeoJSON's order, and the one found."""
    order = sorted(expected, key=lambda t: (_TYPE_ORDER.index(t) if t in _TYPE_ORDER else 99, t))
    return Problem("geometry_wrong_type", {"expected": message("geometry_types_separator").join(order),
                                           "actual": actual})


def _round6(value: float) -> float:
    return round(float(value), 6)


# --- points --------------------------------------------------------------------------


def in_china_bbox(lon: Any, lat: Any) -> np.ndarray:
    """Whether each point lies in :data:`CHINA_BBOX` (NaN -> False)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    w, s, e, n = CHINA_BBOX
    return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)


def parse_coordinates(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn two columns of strings (e.g. from :func:`gridmap.geo.io.read_table`) into floats.

    Returns ``(lon, lat, problems)``: float64 arrays with NaN where a value is missing
    or not a number, and per row None or a Problem (``coordinate_missing`` when either
    cell is blank, ``coordinate_not_number`` when either does not parse). Surrounding
    whitespace is ignored; "nan"/"inf" do not count as numbers. Follow with
    :func:`check_points` on the same rows for range/swap/China checks.
    """
    import pandas as pd  # local: pandas is only needed here

    def parse(values: Any) -> tuple[np.ndarray, np.ndarray]:
        s = pd.Series(np.asarray(values, dtype=object).reshape(-1), dtype=object)
        # to_numeric copes with surrounding whitespace; only look closer at failures.
        f = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        blank = np.zeros(f.shape, dtype=bool)
        nan_idx = np.flatnonzero(np.isnan(f))
        if nan_idx.size:
            sub = s.iloc[nan_idx]
            blank[nan_idx] = (sub.isna() | (sub.astype(str).str.strip() == "")).to_numpy()
        return f, blank

    lon_f, lon_blank = parse(lon)
    lat_f, lat_blank = parse(lat)
    if lon_f.shape != lat_f.shape:
        raise ValueError("lon and lat must have the same length")
    bad = ~(np.isfinite(lon_f) & np.isfinite(lat_f))
    lon_f[bad] = np.nan
    lat_f[bad] = np.nan
    problems = np.full(lon_f.shape, None, dtype=object)
    problems[bad] = NOT_NUMBER
    problems[lon_blank | lat_blank] = _MISSING
    return lon_f, lat_f, problems


def check_points(lon: Any, lat: Any) -> np.ndarray:
    """Per point: None, or the first Problem of the following, in this order.

    * ``coordinate_not_number`` - NaN or infinite;
    * ``coordinate_swapped`` - beyond +-180/+-90 but inside China when swapped, or
      outside China but inside it when swapped (e.g. lon 28.4, lat 119.9);
    * ``coordinate_out_of_range`` - beyond +-180/+-90 otherwise;
    * ``coordinate_outside_china`` - outside :data:`CHINA_BBOX`.

    ``lon``/``lat`` must be WGS-84 (convert first); parameters are the values given,
    rounded to 6 decimals.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.shape != lat.shape:
        raise ValueError("lon and lat must have the same shape")
    problems = np.full(lon.shape, None, dtype=object)

    with np.errstate(invalid="ignore"):
        finite = np.isfinite(lon) & np.isfinite(lat)
        in_china = in_china_bbox(lon, lat)
        # Fast path: the overwhelmingly common all-good case costs two masks.
        suspicious = ~in_china
        if not suspicious.any():
            return problems
        problems[~finite] = NOT_NUMBER
        swapped_in_china = in_china_bbox(lat, lon)
        out_of_range = finite & ((np.abs(lon) > 180.0) | (np.abs(lat) > 90.0))
        swapped = finite & ~in_china & swapped_in_china
        problems[out_of_range & ~swapped] = _OUT_OF_RANGE
        outside = finite & ~in_china & ~swapped & ~out_of_range

    flat = problems.reshape(-1)
    for code, mask in (("coordinate_swapped", swapped), ("coordinate_outside_china", outside)):
        idx = np.flatnonzero(mask)
        if idx.size:
            lons = np.round(lon.reshape(-1)[idx], 6).tolist()
            lats = np.round(lat.reshape(-1)[idx], 6).tolist()
            with _no_gc():
                flat[idx] = [Problem(code, {"lon": x, "lat": y}) for x, y in zip(lons, lats)]
    return problems


@contextmanager
def _no_gc():
    """Pause the cyclic GC while building many small objects (a whole file of bad rows).

    Those objects hold no cycles; without this, GC passes triggered by the allocations
    alone take most of the time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- polygons ------------------------------------------------------------------------

_REASON_RE = re.compile(r"^(?P<what>[^\[]*?)\s*\[(?P<x>[-+0-9.eE]+|nan|inf)\s+(?P<y>[-+0-9.eE]+|nan|inf)\]")


def _invalid_reason_problem(reason: str) -> Problem:
    m = _REASON_RE.match(reason)
    what = (m.group("what") if m else reason).strip()
    if "Self-intersection" in what and m:
        return Problem("self_intersection", {"lon": _round6(float(m.group("x"))), "lat": _round6(float(m.group("y")))})
    text = label(what, "geos_reason")
    if m:
        try:
            text = message("invalid_geometry_at", reason=text, lon=_round6(float(m.group("x"))),
                           lat=_round6(float(m.group("y"))))
        except ValueError:
            pass
    return Problem("invalid_geometry", {"reason": text})


def check_polygons(geoms: Any) -> np.ndarray:
    """Vectorised :func:`check_polygon`: per geometry, None or the first Problem.

    Order: ``geometry_missing`` (None), ``geometry_empty``, ``geometry_wrong_type``
    (not Polygon/MultiPolygon), coordinate problems of the bounding box corners
    (``coordinate_not_number``, ``coordinate_swapped``, ``coordinate_out_of_range``,
    ``coordinate_outside_china``, as :func:`check_points`), then ``self_intersection``
    (with lon/lat) or ``invalid_geometry`` (with a Chinese reason) from GEOS.
    Geometries must be WGS-84.
    """
    arr = np.asarray(geoms, dtype=object)
    shape = arr.shape
    arr = arr.reshape(-1)
    n = arr.size
    problems = np.full(n, None, dtype=object)
    if n == 0:
        return problems.reshape(shape)

    missing = shapely.is_missing(arr)
    problems[missing] = GEOMETRY_MISSING
    pending = ~missing
    empty = pending & shapely.is_empty(arr)
    problems[empty] = GEOMETRY_EMPTY
    pending &= ~empty

    type_ids = shapely.get_type_id(arr)
    wrong = pending & ~np.isin(type_ids, (3, 6))  # 3 Polygon, 6 MultiPolygon
    for i in np.flatnonzero(wrong):
        problems[i] = wrong_type(POLYGON_TYPES, arr[i].geom_type)
    pending &= ~wrong

    idx = np.flatnonzero(pending)
    if idx.size:
        sub = arr[idx]
        # Non-finite ordinates do not always show in the bounds; test them directly.
        coords = shapely.get_coordinates(sub, return_index=True)
        bad_coord = np.zeros(idx.size, dtype=bool)
        nonfinite = ~np.isfinite(coords[0]).all(axis=1)
        if nonfinite.any():
            bad_coord[np.unique(coords[1][nonfinite])] = True
        problems[idx[bad_coord]] = NOT_NUMBER
        bounds = shapely.bounds(sub)
        corner_min = check_points(bounds[:, 0], bounds[:, 1])
        corner_max = check_points(bounds[:, 2], bounds[:, 3])
        corner = np.where(np.equal(corner_min, None), corner_max, corner_min)
        has_corner = ~bad_coord & ~np.equal(corner, None)
        problems[idx[has_corner]] = corner[has_corner]
        still = ~bad_coord & ~has_corner
        idx = idx[still]

    if idx.size:
        sub = arr[idx]
        invalid = ~shapely.is_valid(sub)
        if invalid.any():
            bad_idx = idx[invalid]
            reasons = shapely.is_valid_reason(arr[bad_idx])
            for i, reason in zip(bad_idx, reasons):
                problems[i] = _invalid_reason_problem(str(reason))
    return problems.reshape(shape)


def check_polygon(geom: BaseGeometry | None) -> Problem | None:
    """None if ``geom`` is a usable WGS-84 polygon/multipolygon in China, else a Problem.

    See :func:`check_polygons` for the codes and their order.
    """
    arr = np.empty(1, dtype=object)
    arr[0] = geom
    return check_polygons(arr)[0]


def as_multipolygon(geom: Any) -> Any:
    """Polygon -> MultiPolygon of one part; MultiPolygon and None pass through.

    Also accepts an array of geometries (vectorised). Any other geometry type raises
    ``TypeError`` - run :func:`check_polygon` first.
    """
    if isinstance(geom, np.ndarray):
        out = geom.astype(object, copy=True)
        flat = out.reshape(-1)
        type_ids = shapely.get_type_id(flat)
        other = ~np.isin(type_ids, (-1, 3, 6))
        if other.any():
            raise TypeError(f"expected Polygon or MultiPolygon, got {flat[other][0].geom_type}")
        polys = np.flatnonzero(type_ids == 3)
        if polys.size:
            flat[polys] = shapely.multipolygons(flat[polys], indices=np.arange(polys.size))
        return out
    if geom is None or isinstance(geom, shapely.MultiPolygon):
        return geom
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    raise TypeError(f"expected Polygon or MultiPolygon, got {getattr(geom, 'geom_type', type(geom).__name__)}")
