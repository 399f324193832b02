"""Prepare stored (WGS-84) GeoJSON for display on the configured basemap.

A GCJ-02 basemap such as Gaode draws WGS-84 overlays 300–700 m off, so for such
tiles the overlays are shifted to GCJ-02, for display only.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from shapely.geometry import mapping, shape

from gridmap.config import tiles_are_gcj02
from gridmap.geo.crs import from_wgs84, geometry_from_wgs84, to_wgs84


def display_crs(tiles: str | None) -> str:
    """The CRS a basemap draws in: ``gcj02`` for Gaode-like tiles, else ``wgs84``."""
    return "gcj02" if tiles_are_gcj02(tiles) else "wgs84"


def for_basemap(collection: dict[str, Any], tiles: str | None) -> dict[str, Any]:
    return for_display(collection, display_crs(tiles))


def for_display(collection: dict[str, Any], crs: str | None) -> dict[str, Any]:
    """The collection in the map's CRS: ``gcj02`` (a Gaode basemap; what a page passes to the API
    as ``display``) shifts it, None or ``wgs84`` leaves it as stored."""
    if crs in (None, "wgs84") or not collection.get("features"):
        return collection
    shifted = copy.copy(collection)
    features = [dict(feature) for feature in collection["features"]]
    with_geometry = [f for f in features if f.get("geometry")]
    moved = geometry_from_wgs84([shape(f["geometry"]) for f in with_geometry], crs)
    for feature, geom in zip(with_geometry, moved):
        feature["geometry"] = mapping(geom)
    shifted["features"] = features
    return shifted


def cells_for_display(cells: list[list[float]], crs: str | None) -> list[list[float]]:
    """Heat cells [lat, lon, n] with their centres in the map's CRS (as ``for_display``)."""
    if crs in (None, "wgs84") or not cells:
        return cells
    arr = np.asarray(cells, dtype=float)
    lon, lat = from_wgs84(arr[:, 1], arr[:, 0], crs)
    return [[round(float(a), 7), round(float(o), 7), c[2]] for a, o, c in zip(lat, lon, cells)]


def bbox_to_wgs84(bbox: tuple[float, float, float, float] | None,
                  crs: str | None) -> tuple[float, float, float, float] | None:
    """The WGS-84 envelope of a map view's bbox given in the map's CRS (its four corners converted)."""
    if bbox is None or crs in (None, "wgs84"):
        return bbox
    lon, lat = to_wgs84(np.array([bbox[0], bbox[2], bbox[0], bbox[2]]),
                        np.array([bbox[1], bbox[1], bbox[3], bbox[3]]), crs)
    return (max(-180.0, float(lon.min())), max(-90.0, float(lat.min())),
            min(180.0, float(lon.max())), min(90.0, float(lat.max())))


def bounds_for_basemap(bounds: tuple[float, float, float, float] | None,
                       tiles: str | None) -> tuple[float, float, float, float] | None:
    """A stored (WGS-84) extent (minLon, minLat, maxLon, maxLat) in the basemap's CRS (its corners shifted)."""
    crs = display_crs(tiles)
    if bounds is None or crs == "wgs84":
        return bounds
    lon, lat = from_wgs84(np.array([bounds[0], bounds[2]]), np.array([bounds[1], bounds[3]]), crs)
    return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
