"""Grid layers from vector tiles (gridmap.tiles), one way for every map that shows many grids.

A map switches from GeoJSON in the page to the tile layer when it would show more grids than
``GRIDMAP_TILE_THRESHOLD`` (``use_tiles``); vector tiles are WGS-84, so never over a GCJ-02 basemap.
``TiledGrids`` loads Leaflet.VectorGrid and static/js/tiled-grids.js and, given a layer config,
adds the layer (``window.gridmapTiles``); without one it only loads them for a page script
that adds the layer itself (the heatmap's choropleth). Pure: plain data in, folium elements out.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from gridmap.config import tiles_are_gcj02
from gridmap.escape import html_text, json_in_html
from gridmap.labels import label, labels
from gridmap.maps.assets import DEFAULT_STATIC_URL
from gridmap.maps.overview import CLASSES
from gridmap.messages import message

VECTORGRID_JS = "vendor/leaflet.vectorgrid/1.3.0/dist/Leaflet.VectorGrid.bundled.min.js"
TILED_GRIDS_JS = "js/tiled-grids.js"
GRID_LINK = "/maps/grid/{code}"


def use_tiles(total: int, threshold: int, tiles: str | None) -> bool:
    """Whether a map of ``total`` grids draws them from vector tiles (more than ``threshold``, and
    a basemap in WGS-84: tiles are not shifted to GCJ-02)."""
    return total > threshold and not tiles_are_gcj02(tiles)


def grid_tile_url(**params: Any) -> str:
    """The grids layer's URL template, with the query ``params`` whose value is not None."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return "/tiles/grids/{z}/{x}/{y}.pbf" + (f"?{query}" if query else "")


def popup_template(*lines: str) -> str:
    """The popup's HTML from lines of words (escaped) and ``{property}`` placeholders."""
    return "<br>".join(lines)


def grid_popup_head() -> str:
    words = labels("map_field")
    return popup_template("<b>{name}</b>", html_text(words["code"]) + "：{code}")


def layer_words() -> dict[str, str]:
    return {"grid_detail": label("grid_detail", "map_text"), "search": label("search_grid", "map_text"),
            "not_found": message("map_search_no_grid")}


def layer_config(*, url: str, colour: dict[str, Any], popup: str, link: str | None = GRID_LINK,
                 names: dict[str, dict[str, str]] | None = None, percent: tuple[str, ...] = (),
                 bounds: tuple[float, float, float, float] | None = None, search: str | None = None,
                 skip: dict[str, str] | None = None, max_native_zoom: int = 18) -> dict[str, Any]:
    """What static/js/tiled-grids.js takes (documented there)."""
    return {"url": url, "colour": colour, "popup": popup, "link": link, "names": names or {},
            "percent": list(percent), "bounds": list(bounds) if bounds else None, "search": search,
            "skip": skip, "max_native_zoom": max_native_zoom, "words": layer_words()}


def fill_layer(url: str, **options: Any) -> dict[str, Any]:
    """A grids layer coloured by households against target (the overview's classes and popup)."""
    words = labels("map_field")
    popup = popup_template(grid_popup_head(), html_text(words["households"]) + "：{households}（"
                           + html_text(words["target"]) + " {target_min}–{target_max}，{fill}）")
    return layer_config(url=url, colour={"property": "fill", "classes": {c.key: c.colour for c in CLASSES}},
                        popup=popup, names={"fill": {c.key: c.label for c in CLASSES}}, **options)


class StepLegend(MacroElement):
    """A tile layer's legend at the bottom right: a title and (colour, words) rows."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "gridmap-legend tiled-legend");
                div.style.cssText = "background:#fff;padding:6px 8px;border-radius:4px;font-size:12px;line-height:1.6";
                div.innerHTML = {{ this.html_json }};
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, rows: list[tuple[str, str, str]]) -> None:
        """``rows``: (key, colour, words) from the highest class down."""
        super().__init__()
        self._name = "StepLegend"
        html = f"<b>{html_text(title)}</b><ul style=\"list-style:none;margin:0;padding:0\">" + "".join(
            f'<li data-class="{html_text(key)}"><i style="display:inline-block;width:12px;height:12px;'
            f'background:{html_text(colour)}"></i> {html_text(words)}</li>' for key, colour, words in rows) + "</ul>"
        self.html_json = json_in_html(html)


class TiledGrids(JSCSSMixin, MacroElement):
    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .gridmap-search { background: rgba(255,255,255,.95); padding: 6px 8px; border-radius: 6px;
            box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 13px/1.5 "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }
          .gridmap-search input { width: 12em; font: inherit; }
          .gridmap-search .result { color: #6b7280; display: block; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {% if this.config_json %}
        window.gridmapTiles = window.gridmapTiledGrids({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endif %}
        {% endmacro %}
        """
    )

    def __init__(self, config: dict[str, Any] | None = None, static_url: str = DEFAULT_STATIC_URL) -> None:
        super().__init__()
        self._name = "TiledGrids"
        self.config_json = json_in_html(config) if config else ""
        base = static_url.rstrip("/")
        self.default_js = [("leaflet_vectorgrid", f"{base}/{VECTORGRID_JS}"),
                           ("gridmap_tiled_grids", f"{base}/{TILED_GRIDS_JS}")]
