"""Coordinates as users send them → WGS-84, or a typed 422 error.

Services call this for every single-point input (locate now; check-ins and hazard
reports later). Bulk files go through the vectorised importers instead.
"""

from __future__ import annotations

import numpy as np

from gridmap.errors import Unprocessable
from gridmap.geo.crs import CrsError, parse_crs, to_wgs84
from gridmap.geo.validate import check_points


def declared_crs(value: str | None) -> str:
    try:
        return parse_crs(value)
    except CrsError:
        raise Unprocessable("invalid_crs", details={"crs": str(value)}, crs=value) from None


def point_to_wgs84(lon: float, lat: float, crs: str | None) -> tuple[float, float]:
    """Check and convert one declared point; outside China or swapped → 422."""
    crs = declared_crs(crs)
    lons, lats = to_wgs84(np.array([lon], dtype=float), np.array([lat], dtype=float), crs)
    problem = check_points(lons, lats)[0]
    if problem is not None:
        raise Unprocessable(problem.code, details={"lon": lon, "lat": lat, "crs": crs}, **problem.params)
    return float(lons[0]), float(lats[0])
