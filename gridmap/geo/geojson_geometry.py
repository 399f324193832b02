"""GeoJSON geometry dicts (API bodies, GeoJSON and KML features) → shapely, or the Problem.

Checked on the raw JSON, so nothing is silently repaired: see :func:`parse_geojson_geometry`.
Pure: no Flask, no database.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.geo.validate import GEOMETRY_EMPTY, GEOMETRY_MISSING, GEOMETRY_TYPES, NOT_NUMBER, Problem, wrong_type
from gridmap.messages import message

__all__ = ["MAX_POSITIONS", "parse_geojson_geometry"]

# Most positions accepted in one geometry (API body or one feature of a file).
MAX_POSITIONS = 100_000
_RING_NOT_CLOSED = Problem("ring_not_closed")
_RING_TOO_SHORT = Problem("ring_too_short")


class _Invalid(Exception):
    """Internal: carries the Problem out of the recursive parser."""

    def __init__(self, problem: Problem):
        self.problem = problem


def _unreadable(why: str, **params: Any) -> _Invalid:
    """geometry_unreadable, its reason the catalogue's text for ``why``."""
    return _Invalid(Problem("geometry_unreadable", {"reason": message(why, **params)}))


class _Budget:
    def __init__(self, limit: int):
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise _unreadable("geometry_too_many_positions", limit=MAX_POSITIONS)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _position(p: Any) -> tuple[float, float]:
    """One position -> (x, y); extra dimensions (Z, M) are dropped."""
    if not isinstance(p, (list, tuple)):
        raise _unreadable("geometry_nesting" if _is_number(p) else "position_not_array")
    if any(isinstance(v, (list, tuple, dict)) for v in p):
        raise _unreadable("geometry_nesting")
    if len(p) < 2:
        raise _unreadable("position_too_short")
    if not all(_is_number(v) for v in p):  # a dropped Z or M is still a number
        raise _Invalid(NOT_NUMBER)
    x, y = p[0], p[1]
    try:
        xf, yf = float(x), float(y)
    except OverflowError:
        raise _Invalid(NOT_NUMBER) from None
    if not (math.isfinite(xf) and math.isfinite(yf)):
        raise _Invalid(NOT_NUMBER)
    return xf, yf


def _positions(seq: Any, budget: _Budget) -> np.ndarray:
    """A list of positions -> (n, 2) float array. numpy does the work when it can."""
    if not isinstance(seq, (list, tuple)):
        raise _unreadable("geometry_nesting")
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
        raise _Invalid(NOT_NUMBER)
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
        raise _unreadable("geometry_nesting")
    if not rings:
        raise _Invalid(GEOMETRY_EMPTY)
    parsed = [_ring(r, budget) for r in rings]
    return shapely.Polygon(parsed[0], parsed[1:])


def _line(seq: Any, budget: _Budget) -> shapely.LineString:
    xy = _positions(seq, budget)
    if len(xy) < 2:
        raise _unreadable("line_too_short")
    return shapely.LineString(xy)


def _list(value: Any) -> list | tuple:
    if not isinstance(value, (list, tuple)):
        raise _unreadable("geometry_nesting")
    if not value:
        raise _Invalid(GEOMETRY_EMPTY)
    return value


def _build(obj: Any, budget: _Budget, depth: int = 0) -> BaseGeometry:
    if not isinstance(obj, dict):
        raise _unreadable("geometry_not_object")
    gtype = obj.get("type")
    if not isinstance(gtype, str) or gtype not in GEOMETRY_TYPES:
        if isinstance(gtype, str):
            raise _unreadable("geometry_type_unknown", type=gtype)
        raise _unreadable("geometry_type_missing")
    if gtype == "GeometryCollection":
        if depth > 0:
            raise _unreadable("geometry_collection_nested")
        parts = obj.get("geometries")
        if not isinstance(parts, list):
            raise _unreadable("geometry_parts_missing")
        if not parts:
            raise _Invalid(GEOMETRY_EMPTY)
        return shapely.GeometryCollection([_build(p, budget, depth + 1) for p in parts])
    if "coordinates" not in obj or obj["coordinates"] is None:
        raise _unreadable("geometry_coordinates_missing")
    coords = obj["coordinates"]
    if gtype == "Point":
        if isinstance(coords, (list, tuple)) and not coords:
            raise _Invalid(GEOMETRY_EMPTY)
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
        return None, GEOMETRY_MISSING
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
        if obj is None:
            return None, GEOMETRY_MISSING
    if isinstance(obj, dict):
        gtype = obj.get("type")
        if expected is not None and isinstance(gtype, str) and gtype in GEOMETRY_TYPES and gtype not in expected:
            return None, wrong_type(expected, gtype)
    try:
        geom = _build(obj, _Budget(MAX_POSITIONS))
    except _Invalid as exc:
        return None, exc.problem
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:  # defensive
        return None, Problem("geometry_unreadable", {"reason": str(exc)})
    return geom, None
