"""The boundary editor's map: offline Leaflet with Leaflet-Geoman; the page's own script
(static/js/planner/editor.js) draws the grids and households on it. Never queries.
Around them, when the street has many grids, the street's other grids come from vector tiles."""

from __future__ import annotations

import folium
from folium.plugins import GeoMan

from gridmap.maps.assets import offline_map
from gridmap.maps.tiled import TiledGrids, fill_layer


def build_planner_map(bounds: list[list[float]], *, tiles: str | None = None, neighbour_tiles: str | None = None,
                      community: str | None = None) -> folium.Map:
    """``neighbour_tiles``: the tile URL template of the street's grids, drawn read-only (the
    ``community``'s own grids left out: the editor draws them as editable GeoJSON)."""
    fmap = offline_map(tiles=tiles)
    fmap.fit_bounds(bounds)
    # Vertex editing, drawing a new grid, drawing a split line, snapping to neighbours' edges.
    GeoMan(position="topleft", drawMarker=False, drawCircleMarker=False, drawRectangle=False, drawCircle=False,
           drawText=False, cutPolygon=False, rotateMode=False, dragMode=False, removalMode=False).add_to(fmap)
    if neighbour_tiles:
        skip = {"property": "community", "value": community} if community else None
        TiledGrids(fill_layer(neighbour_tiles, skip=skip)).add_to(fmap)
    return fmap
