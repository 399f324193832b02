"""Coordinates as users send them → WGS-84, or a typed 422 error.

Services call this for every single-point input (locate now; check-ins and hazard
reports later). Bulk files go through the vectorised importers instead.
"""

from __future__ import annotations

import numpy as np

from gridmap.errors import Unprocessable
from gridmap.geo.crs import CrsError, is_geographic, parse_crs, to_wgs84
from gridmap.geo.validate import check_points


def declared_crs(value: str | None) -> str:
    try:
        return parse_crs(value)
    except CrsError:
        raise Unprocessable("invalid_crs", details={"crs": str(value)}, crs=value) from None


def points_to_wgs84(lons: np.ndarray, lats: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points declared in ``crs`` (already parsed) in WGS-84, and each one's Problem or None.

    Longitude and latitude are checked where they are declared: as given for a geographic CRS
    (WGS-84, GCJ-02, BD-09, CGCS2000: China's box is the one the API document states for lon
    and lat), after conversion for a projected one (x/y in metres)."""
    x, y = to_wgs84(lons, lats, crs)
    problems = check_points(lons, lats) if is_geographic(crs) else check_points(x, y)
    return x, y, problems


def point_to_wgs84(lon: float, lat: float, crs: str | None) -> tuple[float, float]:
    """Check and convert one declared point; outside China or swapped → 422."""
    crs = declared_crs(crs)
    lons, lats, problems = points_to_wgs84(np.array([lon], dtype=float), np.array([lat], dtype=float), crs)
    problem = problems[0]
    if problem is not None:
        raise Unprocessable(problem.code, details={"lon": lon, "lat": lat, "crs": crs}, **problem.params)
    return float(lons[0]), float(lats[0])
