"""Hazard map: density from database cells (leaflet.heat) and open hazards as clustered markers.

Pure: plain data in (cells ``[[lat, lon, weight], ...]`` and a FeatureCollection of
open hazards from the hazards service), a folium map out; never queries.
"""

from __future__ import annotations

from typing import Any

import folium
from folium.plugins import HeatMap, MarkerCluster

from gridmap.escape import html_attribute, html_text
from gridmap.labels import label
from gridmap.maps.assets import DEFAULT_STATIC_URL, offline_map
from gridmap.maps.display import cells_for_display, display_crs, for_basemap
from gridmap.maps.overview import FALLBACK_CENTER
from gridmap.maps.popups import Popup, Tooltip
from gridmap.maps.tiled import TiledGrids
from gridmap.messages import message

OVERDUE_COLOUR, OPEN_COLOUR = "#dc2626", "#2563eb"


def build_hazard_map(cells: list[list[float]], open_hazards: dict[str, Any], *, title: str,
                     tiles: str | None = None, static_url: str = DEFAULT_STATIC_URL,
                     link_template: str = "/hazards/{id}",
                     area_bounds: tuple[float, float, float, float] | None = None,
                     grid_tiles: bool = False) -> folium.Map:
    """``area_bounds`` (minLon, minLat, maxLon, maxLat in the basemap's CRS): the viewer's area,
    fitted when there is nothing to show (the page says why and what would fill it).
    ``grid_tiles``: the page's choropleth draws the grids from vector tiles (loads the tile layer's scripts)."""
    cells = cells_for_display(cells, display_crs(tiles))
    features = [f for f in for_basemap(open_hazards or {}, tiles).get("features", []) if f.get("geometry")]
    points = [(c[0], c[1]) for c in cells] + [(f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])
                                               for f in features]
    m = offline_map(tiles=tiles, static_url=static_url, location=list(FALLBACK_CENTER), zoom_start=5)
    m.get_root().title = html_text(title)
    top = max((c[2] for c in cells), default=1) or 1
    # Always present (possibly empty): the page's script refills it for the visible bbox and zoom.
    heat = HeatMap([[c[0], c[1], c[2] / top] for c in cells], name=label("hazard_density", "map_layer"), radius=22, blur=16,
                   min_opacity=0.35, max_zoom=16).add_to(m)
    m.gridmap_layers = {"map": m.get_name(), "heat": heat.get_name()}
    if grid_tiles:
        TiledGrids(static_url=static_url).add_to(m)
    if features:
        cluster = MarkerCluster(name=label("open_issues", "map_layer")).add_to(m)
        for feature in features:
            p = feature["properties"]
            lon, lat = feature["geometry"]["coordinates"]
            colour = OVERDUE_COLOUR if p.get("overdue") else OPEN_COLOUR
            link = link_template.format(id=int(p["id"]))
            popup = (f'<b>{html_text(p.get("code"))}</b> {html_text(p.get("category_name"))}<br>'
                     f'{html_text(p.get("status_name"))}{message("hazard_overdue_mark") if p.get("overdue") else ""}<br>'
                     f'{html_text((p.get("description") or "")[:120])}<br>'
                     f'<a href="{html_attribute(link)}" target="_top">{label("hazard_detail", "map_text")}</a>')
            folium.CircleMarker([lat, lon], radius=7, color=colour, fill=True, fill_color=colour, fill_opacity=0.8,
                                popup=Popup(popup, max_width=280),
                                tooltip=Tooltip(p.get("code"))).add_to(cluster)
    if points:
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20), max_zoom=16)
    elif area_bounds:
        m.fit_bounds([[area_bounds[1], area_bounds[0]], [area_bounds[3], area_bounds[2]]], padding=(20, 20))
    folium.LayerControl(collapsed=True).add_to(m)
    return m
