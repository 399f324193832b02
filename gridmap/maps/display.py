"""Prepare stored (WGS-84) GeoJSON for display on the configured basemap.

A GCJ-02 basemap such as Gaode draws WGS-84 overlays 300–700 m off, so for such
tiles the overlays are shifted to GCJ-02, for display only.
"""

from __future__ import annotations

import copy
from typing import Any

from shapely.geometry import mapping, shape

from gridmap.geo.crs import geometry_from_wgs84
from gridmap.maps.assets import tiles_are_gcj02


def for_basemap(collection: dict[str, Any], tiles: str | None) -> dict[str, Any]:
    return for_display(collection, "gcj02" if tiles_are_gcj02(tiles) else None)


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
