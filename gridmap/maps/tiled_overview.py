"""Grid overview from vector tiles (gridmap.tiles) for areas too big for GeoJSON in the page.

Pure: plain data in (the tile URL template, the legend's counts from the database, the area's
extent, the search and link URL templates), a folium map out. Leaflet.VectorGrid draws the
``grids`` layer coloured by each grid's ``fill``; a click opens a popup with a link to the
grid's 民情地图; the search box asks the grid list (``?q=``) and shows the first match.
"""

from __future__ import annotations

from collections import Counter

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from gridmap.escape import html_text, json_in_html
from gridmap.labels import label, labels
from gridmap.maps.assets import DEFAULT_STATIC_URL, offline_map
from gridmap.maps.overview import CLASSES, FALLBACK_CENTER, OverviewOverlay
from gridmap.messages import message

VECTORGRID_JS = "vendor/leaflet.vectorgrid/1.3.0/dist/Leaflet.VectorGrid.bundled.min.js"


class _TiledGrids(JSCSSMixin, MacroElement):
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
        (function () {
            var map = {{ this._parent.get_name() }};
            var cfg = {{ this.config_json }};
            function esc(text) {
                var div = document.createElement("div");
                div.textContent = text == null ? "" : String(text);
                return div.innerHTML;
            }
            function popup(p) {
                var link = cfg.link.replace("{code}", encodeURIComponent(p.code));
                var a = document.createElement("a");
                a.href = link; a.target = "_top"; a.className = "gridmap-grid-link"; a.textContent = cfg.words.grid_detail;
                return '<div class="gridmap-popup"><b>' + esc(p.name) + "</b><br>" + esc(cfg.words.code) + "："
                    + esc(p.code) + "<br>" + esc(cfg.words.households) + "：" + esc(p.households) + "（"
                    + esc(cfg.words.target) + " " + esc(p.target_min) + "–" + esc(p.target_max) + "，"
                    + esc(cfg.fills[p.fill] || "") + "）<br>" + a.outerHTML + "</div>";
            }
            var grids = L.vectorGrid.protobuf(cfg.url, {
                rendererFactory: L.canvas.tile, interactive: true, maxNativeZoom: cfg.max_native_zoom,
                getFeatureId: function (f) { return f.properties.code; },
                vectorTileLayerStyles: {
                    grids: function (p) {
                        return {fill: true, fillColor: cfg.colours[p.fill] || "#9ca3af", fillOpacity: 0.55,
                                color: "#374151", weight: 1};
                    }
                }
            }).addTo(map);
            grids.on("click", function (e) {
                L.popup().setLatLng(e.latlng).setContent(popup(e.layer.properties)).openOn(map);
            });
            window.gridmapTiles = grids;
            if (cfg.bounds) {
                map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]], {padding: [20, 20]});
            }
            var box = L.control({position: "topright"});
            box.onAdd = function () {
                var div = L.DomUtil.create("div", "gridmap-search");
                div.innerHTML = '<input type="search" class="gridmap-search-input"><span class="result" role="status"></span>';
                var input = div.querySelector("input"), result = div.querySelector(".result");
                input.placeholder = cfg.words.search; input.setAttribute("aria-label", cfg.words.search);
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                input.addEventListener("keydown", function (ev) {
                    if (ev.key !== "Enter" || !input.value.trim()) { return; }
                    fetch(cfg.search + encodeURIComponent(input.value.trim()), {credentials: "same-origin"})
                        .then(function (r) { return r.json(); })
                        .then(function (body) {
                            var f = (body.features || []).filter(function (x) { return x.geometry; })[0];
                            if (!f) { result.textContent = cfg.words.not_found; return; }
                            result.textContent = f.properties.name + " " + f.properties.code;
                            var shape = L.geoJSON(f.geometry);
                            map.fitBounds(shape.getBounds(), {maxZoom: 16});
                            var p = f.properties;
                            L.popup().setLatLng(shape.getBounds().getCenter())
                                .setContent(popup({code: p.code, name: p.name, households: p.households,
                                                   target_min: p.target_min, target_max: p.target_max,
                                                   fill: cfg.classify(p)})).openOn(map);
                        });
                });
                return div;
            };
            cfg.classify = function (p) {
                var n = p.households || 0;
                return n <= 0 ? "empty" : n < p.target_min ? "under" : n > p.target_max ? "over" : "within";
            };
            box.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, config: dict, static_url: str) -> None:
        super().__init__()
        self._name = "TiledGrids"
        self.config_json = json_in_html(config)
        self.default_js = [("leaflet_vectorgrid", f"{static_url.rstrip('/')}/{VECTORGRID_JS}")]


def build_tiled_overview(
    *,
    title: str,
    tile_url: str,
    counts: dict[str, int],
    total: int,
    bounds: tuple[float, float, float, float] | None,
    search_url: str,
    link_template: str = "/maps/grid/{code}",
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
    words = labels("map_field")
    config = {
        "url": tile_url, "search": search_url, "link": link_template, "bounds": list(bounds) if bounds else None,
        "max_native_zoom": max_native_zoom,
        "colours": {c.key: c.colour for c in CLASSES}, "fills": {c.key: c.label for c in CLASSES},
        "words": {"code": words["code"], "households": words["households"], "target": words["target"],
                  "grid_detail": label("grid_detail", "map_text"), "search": label("search_grid", "map_text"),
                  "not_found": message("map_search_no_grid")},
    }
    if total:
        _TiledGrids(config, static_url).add_to(m)
    OverviewOverlay(title, Counter(counts), total).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
