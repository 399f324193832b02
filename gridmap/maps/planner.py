"""The boundary editor's map: offline Leaflet with Leaflet-Geoman; the page's own script
(static/js/planner/editor.js) draws the grids and households on it. Never queries."""

from __future__ import annotations

import folium
from folium.plugins import GeoMan

from gridmap.maps.assets import offline_map


def build_planner_map(bounds: list[list[float]], *, tiles: str | None = None) -> folium.Map:
    fmap = offline_map(tiles=tiles)
    fmap.fit_bounds(bounds)
    # Vertex editing, drawing a new grid, drawing a split line, snapping to neighbours' edges.
    GeoMan(position="topleft", drawMarker=False, drawCircleMarker=False, drawRectangle=False, drawCircle=False,
           drawText=False, cutPolygon=False, rotateMode=False, dragMode=False, removalMode=False).add_to(fmap)
    return fmap
