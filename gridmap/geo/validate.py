"""Checks on coordinates and geometries. Problems are reported, never raised.

A :class:`Problem` names a code from ``gridmap.messages.MESSAGES`` plus the fields its
template needs; the service layer attaches the row/feature number and field name.
The ``check_*`` functions over arrays are vectorised: numpy masks and shapely 2 array
functions pick out the bad rows, and only those rows get a Problem object.
"""

from __future__ import annotations

import gc
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.messages import message

__all__ = [
    "Problem",
    "CHINA_BBOX",
    "MAX_POSITIONS",
    "in_china_bbox",
    "parse_coordinates",
    "check_points",
    "parse_geojson_geometry",
    "check_polygon",
    "check_polygons",
    "as_multipolygon",
]

# Rough bounding box of China (lon_min, lat_min, lon_max, lat_max). Deliberately
# generous: it only has to catch swapped, zeroed or foreign coordinates.
CHINA_BBOX = (73.4, 18.1, 135.1, 53.6)
# Most positions accepted in one geometry (API body or one feature of a file).
MAX_POSITIONS = 100_000
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


_NOT_NUMBER = Problem("coordinate_not_number")
_MISSING = Problem("coordinate_missing")
_OUT_OF_RANGE = Problem("coordinate_out_of_range")
_GEOMETRY_MISSING = Problem("geometry_missing")
_GEOMETRY_EMPTY = Problem("geometry_empty")
_RING_NOT_CLOSED = Problem("ring_not_closed")
_RING_TOO_SHORT = Problem("ring_too_short")


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
    problems[bad] = _NOT_NUMBER
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
        problems[~finite] = _NOT_NUMBER
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


# --- GeoJSON geometry dicts ----------------------------------------------------------

_TYPE_ORDER = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")
_GEOJSON_TYPES = frozenset(_TYPE_ORDER)
# Nesting depth of "coordinates" below a position: Point 0, LineString 1, ...
_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


class _Invalid(Exception):
    """Internal: carries the Problem out of the recursive parser."""

    def __init__(self, problem: Problem):
        self.problem = problem


def _unreadable(reason: str) -> _Invalid:
    return _Invalid(Problem("geometry_unreadable", {"reason": reason}))


def _expected_text(expected: set[str] | frozenset[str]) -> str:
    return " 或 ".join(sorted(expected, key=lambda t: (_TYPE_ORDER.index(t) if t in _TYPE_ORDER else 99, t)))


class _Budget:
    def __init__(self, limit: int):
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise _unreadable(f"坐标点超过 {MAX_POSITIONS} 个")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _position(p: Any) -> tuple[float, float]:
    """One position -> (x, y); extra dimensions (Z, M) are dropped."""
    if not isinstance(p, (list, tuple)):
        raise _unreadable("坐标嵌套层级不正确" if _is_number(p) else "坐标点应为 [经度, 纬度] 数组")
    if any(isinstance(v, (list, tuple, dict)) for v in p):
        raise _unreadable("坐标嵌套层级不正确")
    if len(p) < 2:
        raise _unreadable("坐标点至少需要经度和纬度两个数")
    if not all(_is_number(v) for v in p):  # a dropped Z or M is still a number
        raise _Invalid(_NOT_NUMBER)
    x, y = p[0], p[1]
    try:
        xf, yf = float(x), float(y)
    except OverflowError:
        raise _Invalid(_NOT_NUMBER) from None
    if not (math.isfinite(xf) and math.isfinite(yf)):
        raise _Invalid(_NOT_NUMBER)
    return xf, yf


def _positions(seq: Any, budget: _Budget) -> np.ndarray:
    """A list of positions -> (n, 2) float array. numpy does the work when it can."""
    if not isinstance(seq, (list, tuple)):
        raise _unreadable("坐标嵌套层级不正确")
    budget.spend(len(seq))
    if not seq:
        return np.empty((0, 2))
    try:
        arr = np.asarray(seq)
    except (ValueError, TypeError, OverflowError):
        arr = None  # ragged or odd values: let the slow path say exactly what is wrong
    if arr is not None and arr.ndim == 2 and arr.shape[1] >= 2 and arr.dtype.kind in "iuf":
        xy = np.asarray(arr[:, :2], dtype=np.float64)
        if np.isfinite(xy).all():
            return xy
        raise _Invalid(_NOT_NUMBER)
    return np.array([_position(p) for p in seq], dtype=np.float64).reshape(-1, 2)


def _ring(seq: Any, budget: _Budget) -> np.ndarray:
    xy = _positions(seq, budget)
    n = len(xy)
    if n >= 2 and not np.array_equal(xy[0], xy[-1]):
        raise _Invalid(_RING_NOT_CLOSED)
    if n < 4:
        raise _Invalid(_RING_TOO_SHORT)
    return xy


def _polygon(rings: Any, budget: _Budget) -> shapely.Polygon:
    if not isinstance(rings, (list, tuple)):
        raise _unreadable("坐标嵌套层级不正确")
    if not rings:
        raise _Invalid(_GEOMETRY_EMPTY)
    parsed = [_ring(r, budget) for r in rings]
    return shapely.Polygon(parsed[0], parsed[1:])


def _line(seq: Any, budget: _Budget) -> shapely.LineString:
    xy = _positions(seq, budget)
    if len(xy) < 2:
        raise _unreadable("线至少需要 2 个坐标点")
    return shapely.LineString(xy)


def _list(value: Any) -> list | tuple:
    if not isinstance(value, (list, tuple)):
        raise _unreadable("坐标嵌套层级不正确")
    if not value:
        raise _Invalid(_GEOMETRY_EMPTY)
    return value


def _build(obj: Any, budget: _Budget, depth: int = 0) -> BaseGeometry:
    if not isinstance(obj, dict):
        raise _unreadable("应为 GeoJSON 几何对象")
    gtype = obj.get("type")
    if not isinstance(gtype, str) or gtype not in _GEOJSON_TYPES:
        raise _unreadable(f"未知的几何类型 {gtype}" if isinstance(gtype, str) else "缺少 type")
    if gtype == "GeometryCollection":
        if depth > 0:
            raise _unreadable("不支持嵌套的 GeometryCollection")
        parts = obj.get("geometries")
        if not isinstance(parts, list):
            raise _unreadable("缺少 geometries")
        if not parts:
            raise _Invalid(_GEOMETRY_EMPTY)
        return shapely.GeometryCollection([_build(p, budget, depth + 1) for p in parts])
    if "coordinates" not in obj or obj["coordinates"] is None:
        raise _unreadable("缺少 coordinates")
    coords = obj["coordinates"]
    if gtype == "Point":
        if isinstance(coords, (list, tuple)) and not coords:
            raise _Invalid(_GEOMETRY_EMPTY)
        budget.spend(1)
        return shapely.Point(_position(coords))
    if gtype == "MultiPoint":
        return shapely.MultiPoint(_positions(_list(coords), budget))
    if gtype == "LineString":
        return _line(_list(coords), budget)
    if gtype == "MultiLineString":
        return shapely.MultiLineString([_line(part, budget) for part in _list(coords)])
    if gtype == "Polygon":
        return _polygon(coords, budget)
    # MultiPolygon
    return shapely.MultiPolygon([_polygon(part, budget) for part in _list(coords)])


def parse_geojson_geometry(
    obj: Any, expected: set[str] | frozenset[str] | None = None
) -> tuple[BaseGeometry | None, Problem | None]:
    """Build a shapely geometry from a raw GeoJSON geometry dict, or say what is wrong.

    Returns ``(geometry, None)`` or ``(None, problem)``; never raises. Checked, in
    order, on the raw JSON (so nothing is silently repaired):

    * ``None`` -> ``geometry_missing``; a Feature is unwrapped to its geometry;
    * not a dict, unknown or missing ``type``, missing ``coordinates``, wrong nesting,
      positions with fewer than 2 numbers, more than :data:`MAX_POSITIONS` positions
      -> ``geometry_unreadable`` (with ``reason``);
    * a known type not in ``expected`` -> ``geometry_wrong_type``;
    * a coordinate that is not a JSON number (strings, booleans, null) or is NaN or
      Infinity (Python's json module accepts those) -> ``coordinate_not_number``;
    * empty coordinates -> ``geometry_empty``;
    * a polygon ring whose first and last positions differ -> ``ring_not_closed``
      (before shapely could close it); a ring of fewer than 4 positions ->
      ``ring_too_short``.

    Third (Z) and further ordinates are dropped silently: the result is always 2-D.
    Validity (self-intersection etc.) and the China range are *not* checked here; use
    :func:`check_polygon` after converting to WGS-84.
    """
    if obj is None:
        return None, _GEOMETRY_MISSING
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
        if obj is None:
            return None, _GEOMETRY_MISSING
    if isinstance(obj, dict):
        gtype = obj.get("type")
        if expected is not None and isinstance(gtype, str) and gtype in _GEOJSON_TYPES and gtype not in expected:
            return None, Problem("geometry_wrong_type", {"expected": _expected_text(expected), "actual": gtype})
    try:
        geom = _build(obj, _Budget(MAX_POSITIONS))
    except _Invalid as exc:
        return None, exc.problem
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:  # defensive
        return None, Problem("geometry_unreadable", {"reason": str(exc)})
    return geom, None


# --- polygons ------------------------------------------------------------------------

_REASON_RE = re.compile(r"^(?P<what>[^\[]*?)\s*\[(?P<x>[-+0-9.eE]+|nan|inf)\s+(?P<y>[-+0-9.eE]+|nan|inf)\]")
_REASONS_ZH = {
    "Too few points": "坐标点过少",
    "Hole lies outside shell": "内环位于外环之外",
    "Nested holes": "内环相互嵌套",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "多个外环相互嵌套",
    "Duplicate Rings": "存在重复的环",
    "Invalid Coordinate": "坐标无效",
    "Ring not closed": "环未闭合",
    "Ring Self-intersection": "环自相交",
    "Self-intersection": "自相交",
}


def _invalid_reason_problem(reason: str) -> Problem:
    m = _REASON_RE.match(reason)
    what = (m.group("what") if m else reason).strip()
    if "Self-intersection" in what and m:
        return Problem("self_intersection", {"lon": _round6(float(m.group("x"))), "lat": _round6(float(m.group("y")))})
    text = _REASONS_ZH.get(what, what)
    if m:
        try:
            text += f"，位置约在 ({_round6(float(m.group('x')))}, {_round6(float(m.group('y')))})"
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
    problems[missing] = _GEOMETRY_MISSING
    pending = ~missing
    empty = pending & shapely.is_empty(arr)
    problems[empty] = _GEOMETRY_EMPTY
    pending &= ~empty

    type_ids = shapely.get_type_id(arr)
    wrong = pending & ~np.isin(type_ids, (3, 6))  # 3 Polygon, 6 MultiPolygon
    for i in np.flatnonzero(wrong):
        problems[i] = Problem(
            "geometry_wrong_type", {"expected": _expected_text(POLYGON_TYPES), "actual": arr[i].geom_type}
        )
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
        problems[idx[bad_coord]] = _NOT_NUMBER
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
