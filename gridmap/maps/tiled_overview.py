"""Grid overview from vector tiles (gridmap.tiles) for areas too big for GeoJSON in the page.

Pure: plain data in (the tile URL template, the legend's counts from the database, the area's
extent, the search and link URL templates), a folium map out. The tile layer (gridmap.maps.tiled)
colours the ``grids`` layer by each grid's ``fill``; a click opens a popup with a link to the
grid's 民情地图; the search box asks the grid list (``?q=``) and shows the first match.
"""

from __future__ import annotations

from collections import Counter

import folium

from gridmap.escape import html_text
from gridmap.maps.assets import DEFAULT_STATIC_URL, offline_map
from gridmap.maps.overview import FALLBACK_CENTER, OverviewOverlay
from gridmap.maps.tiled import GRID_LINK, TiledGrids, fill_layer


def build_tiled_overview(
    *,
    title: str,
    tile_url: str,
    counts: dict[str, int],
    total: int,
    bounds: tuple[float, float, float, float] | None,
    search_url: str,
    link_template: str = GRID_LINK,
    tiles: str | None = None,
    static_url: str = DEFAULT_STATIC_URL,
    max_native_zoom: int = 18,
) -> folium.Map:
    """The overview of ``total`` grids drawn from ``tile_url`` (``{z}/{x}/{y}`` template of the
    grids layer); ``counts`` by fill class (under/within/over/empty) for the legend; ``bounds``
    (minLon, minLat, maxLon, maxLat) to fit, or None; ``search_url`` gets the typed text appended
    (URL-encoded) and must answer a grid FeatureCollection; ``link_template`` gets ``{code}``.
    ``tiles`` is the basemap as for ``offline_map`` (a WGS-84 one: vector tiles are not shifted)."""
    m = offline_map(tiles=tiles, static_url=static_url, location=list(FALLBACK_CENTER), zoom_start=5)
    m.get_root().title = html_text(title)
    config = fill_layer(tile_url, link=link_template, bounds=bounds, search=search_url,
                        max_native_zoom=max_native_zoom)
    if total:
        TiledGrids(config, static_url).add_to(m)
    OverviewOverlay(title, Counter(counts), total).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
