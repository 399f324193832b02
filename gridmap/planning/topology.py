"""Pure geometry for planning: parsing edits, splitting, compactness and partitions.

No Flask, no database: plain shapely 2 / numpy in, plain values out. Coordinates are
WGS-84 lon/lat unless a function says it works in local metres.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as shapely_split

from gridmap.geo.crs import CrsError, geometry_to_wgs84
from gridmap.geo.geojson_geometry import parse_geojson_geometry
from gridmap.geo.validate import Problem, as_multipolygon, check_polygon

LINE_TYPES = frozenset({"LineString", "MultiLineString"})
POLYGON_TYPES = frozenset({"Polygon", "MultiPolygon"})
METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0


def polygon_from_geojson(obj: Any, crs: str) -> tuple[shapely.MultiPolygon | None, Problem | None]:
    """A declared-CRS GeoJSON (Multi)Polygon → a checked WGS-84 MultiPolygon, or the Problem."""
    geom, problem = parse_geojson_geometry(obj, POLYGON_TYPES)
    if problem is not None:
        return None, problem
    try:
        geom = geometry_to_wgs84(geom, crs)
    except CrsError as exc:
        return None, Problem("invalid_crs", exc.params)
    problem = check_polygon(geom)
    if problem is not None:
        return None, problem
    return as_multipolygon(geom), None


def line_from_geojson(obj: Any, crs: str) -> tuple[BaseGeometry | None, Problem | None]:
    geom, problem = parse_geojson_geometry(obj, LINE_TYPES)
    if problem is not None:
        return None, problem
    try:
        return geometry_to_wgs84(geom, crs), None
    except CrsError as exc:
        return None, Problem("invalid_crs", exc.params)


def split_by_line(polygon: BaseGeometry, line: BaseGeometry) -> list[shapely.MultiPolygon]:
    """The pieces of ``polygon`` cut by ``line``, largest first (each as a MultiPolygon)."""
    pieces = [p for p in shapely_split(polygon, line).geoms if p.area > 0]
    pieces.sort(key=lambda p: p.area, reverse=True)
    return [as_multipolygon(p) for p in pieces]


# --- local metres --------------------------------------------------------------------


def local_metres(lon: np.ndarray, lat: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    """Equirectangular metres around ``origin`` (fine within a community or a street)."""
    lon0, lat0 = origin
    kx = METRES_PER_DEGREE_LON_EQUATOR * np.cos(np.radians(lat0))
    return np.column_stack(((np.asarray(lon) - lon0) * kx, (np.asarray(lat) - lat0) * METRES_PER_DEGREE_LAT))


def to_local(geom: Any, origin: tuple[float, float]) -> Any:
    return shapely.transform(geom, lambda xy: local_metres(xy[:, 0], xy[:, 1], origin))


def from_local(geom: Any, origin: tuple[float, float]) -> Any:
    lon0, lat0 = origin
    kx = METRES_PER_DEGREE_LON_EQUATOR * np.cos(np.radians(lat0))
    return shapely.transform(
        geom, lambda xy: np.column_stack((xy[:, 0] / kx + lon0, xy[:, 1] / METRES_PER_DEGREE_LAT + lat0)))


def polsby_popper(geoms: Any) -> np.ndarray:
    """4πA/P² per geometry (1 for a circle, ~0.785 for a square, → 0 for slivers)."""
    area = shapely.area(geoms)
    perimeter = shapely.length(geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(perimeter > 0, 4 * np.pi * area / perimeter ** 2, 0.0)
    return np.round(score, 3)


# --- partitions ----------------------------------------------------------------------


def group_count(n: int, target_min: int, target_max: int) -> int:
    """How many groups ``n`` households make: aim for the middle of the range."""
    if n <= target_max:
        return 1
    middle = (target_min + target_max) / 2
    k = max(1, round(n / middle))
    # Keep every group at or under the maximum, and over the minimum where possible.
    while n / k > target_max:
        k += 1
    while k > 1 and n / k < target_min and n / (k - 1) <= target_max:
        k -= 1
    return k


def kd_partition(xy: np.ndarray, k: int) -> np.ndarray:
    """Labels 0..k-1: recursive bisection by count along each part's longer axis.

    A part of ``k`` groups is cut at the ``floor(k/2)/k`` quantile, so group sizes
    differ by at most one household from ``n/k`` at every level.
    """
    labels = np.zeros(len(xy), dtype=np.int64)
    stack: list[tuple[np.ndarray, int, int]] = [(np.arange(len(xy)), k, 0)]
    while stack:
        idx, parts, first = stack.pop()
        if parts == 1 or len(idx) == 0:
            labels[idx] = first
            continue
        pts = xy[idx]
        span = pts.max(axis=0) - pts.min(axis=0)
        axis = int(np.argmax(span))
        order = idx[np.argsort(pts[:, axis], kind="stable")]
        left_parts = parts // 2
        cut = round(len(order) * left_parts / parts)
        stack.append((order[:cut], left_parts, first))
        stack.append((order[cut:], parts - left_parts, first + left_parts))
    return labels


def voronoi_regions(xy: np.ndarray, labels: np.ndarray, boundary: BaseGeometry, k: int) -> list[BaseGeometry]:
    """One region per label: the union of its members' Voronoi cells, clipped to ``boundary``.

    Duplicate points share one cell (the first member's label wins); every piece of the
    boundary is covered. Works in whatever planar units ``xy`` and ``boundary`` share.
    """
    unique_xy, first = np.unique(xy, axis=0, return_index=True)
    unique_labels = labels[first]
    if len(unique_xy) == 1:
        return [boundary if i == unique_labels[0] else shapely.Polygon() for i in range(k)]
    extent = shapely.box(*boundary.buffer(1.0).bounds)
    points = shapely.points(unique_xy)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=extent))
    # voronoi_polygons does not keep input order: match each cell to the point it contains.
    tree = shapely.STRtree(points)
    cell_idx, point_idx = tree.query(cells, predicate="contains")
    owner = np.full(len(cells), -1)
    owner[cell_idx] = point_idx
    keep = owner >= 0
    cells, owner = cells[keep], owner[keep]
    cell_labels = unique_labels[owner]
    regions = []
    for label in range(k):
        union = shapely.union_all(cells[cell_labels == label])
        regions.append(shapely.intersection(union, boundary))
    return regions


def partition(lon: np.ndarray, lat: np.ndarray, boundary_wgs84: BaseGeometry,
              target_min: int, target_max: int) -> dict[str, Any]:
    """Proposed grids for households at (lon, lat) inside ``boundary_wgs84``.

    Returns ``{"geoms": [WGS-84 MultiPolygon], "counts": [...], "compactness": [...],
    "labels": per household}``.
    """
    origin = (float(np.mean(lon)), float(np.mean(lat)))
    xy = local_metres(lon, lat, origin)
    boundary = shapely.make_valid(to_local(boundary_wgs84, origin))
    k = group_count(len(xy), target_min, target_max)
    labels = kd_partition(xy, k)
    regions = voronoi_regions(xy, labels, boundary, k)
    regions = [_polygonal(r) for r in regions]
    compact = polsby_popper(np.array(regions, dtype=object)).tolist()
    counts = np.bincount(labels, minlength=k).tolist()
    geoms = [as_multipolygon(_polygonal(from_local(r, origin))) for r in regions]
    return {"geoms": geoms, "counts": counts, "compactness": compact, "labels": labels}


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygon parts of an intersection result (drops stray lines and points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys: list[shapely.Polygon] = []
    for p in parts:
        polys.extend(shapely.get_parts(p))
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()
