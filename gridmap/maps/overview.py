"""Grid overview map: every grid coloured by its household count against its target.

Pure: takes a GeoJSON FeatureCollection (plain data from the areas service) and
returns a folium map; never touches the database or Flask. Render it with
``gridmap.maps.assets.render_html(m)`` (or ``m.get_root().render()``).
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote

import folium
from branca.element import MacroElement
from folium.template import Template
from shapely.geometry import shape

from gridmap.escape import html_attribute, html_text
from gridmap.labels import label, labels
from gridmap.maps.assets import DEFAULT_STATIC_URL, offline_map
from gridmap.messages import message

DEFAULT_TARGET_MIN = 300
DEFAULT_TARGET_MAX = 500
# Where an empty map looks when neither grids nor a centre are given (lat, lon).
FALLBACK_CENTER = (30.0, 112.0)


@dataclass(frozen=True)
class GridClass:
    key: str
    label: str
    colour: str
    hint: str


# Legend order.
CLASSES: tuple[GridClass, ...] = tuple(
    GridClass(key, label(key, "grid_fill"), colour, label(key, "grid_fill_hint"))
    for key, colour in (("under", "#3b82f6"), ("within", "#16a34a"), ("over", "#dc2626"), ("empty", "#9ca3af"))
)
CLASS_BY_KEY = {c.key: c for c in CLASSES}


def classify(households: int | None, target_min: int | None = None, target_max: int | None = None) -> GridClass:
    """无住户 for 0/None; 偏少 below target_min; 超员 above target_max; otherwise 达标 (bounds inclusive)."""
    lo = DEFAULT_TARGET_MIN if target_min is None else target_min
    hi = DEFAULT_TARGET_MAX if target_max is None else target_max
    n = households or 0
    if n <= 0:
        return CLASS_BY_KEY["empty"]
    if n < lo:
        return CLASS_BY_KEY["under"]
    if n > hi:
        return CLASS_BY_KEY["over"]
    return CLASS_BY_KEY["within"]


def _style(feature: dict) -> dict:
    colour = feature["properties"]["_colour"]
    return {"fillColor": colour, "color": "#374151", "weight": 1, "fillOpacity": 0.55}


def _highlight(feature: dict) -> dict:
    return {"weight": 3, "color": "#111827", "fillOpacity": 0.7}


class OverviewOverlay(MacroElement):
    """Title and legend blocks (no legend without grids), moved into the map's container by script.

    The blocks are plain HTML in the page (readable without JS, and by tests); the
    script puts the legend in a Leaflet control at the bottom right and the title
    inside the map, so they stay over the map when a page
    template embeds it among its own header and navigation.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .gridmap-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
            z-index: 1000; background: rgba(255,255,255,.92); padding: 6px 14px; border-radius: 6px;
            box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 600 16px/1.4 "Noto Sans CJK SC", "Microsoft YaHei",
            "PingFang SC", sans-serif; white-space: nowrap; }
          .gridmap-legend { background: rgba(255,255,255,.95); padding: 8px 12px; border-radius: 6px;
            box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 13px/1.6 "Noto Sans CJK SC", "Microsoft YaHei",
            "PingFang SC", sans-serif; color: #111827; }
          .gridmap-legend h4 { margin: 0 0 4px; font-size: 14px; font-weight: 600; }
          .gridmap-legend ul { list-style: none; margin: 0; padding: 0; }
          .gridmap-legend li { display: flex; align-items: center; gap: 6px; }
          .gridmap-legend .swatch { display: inline-block; width: 14px; height: 14px;
            border: 1px solid #374151; opacity: .8; }
          .gridmap-legend .hint { color: #6b7280; }
          .gridmap-legend .count { margin-left: auto; padding-left: 10px; font-weight: 600; }
          .gridmap-legend .total { display: block; border-top: 1px solid #e5e7eb; margin-top: 4px;
            padding-top: 2px; }
          .gridmap-legend .total .count { margin: 0; padding: 0; }
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}_title" class="gridmap-title">{{ this.title }}</div>
        {% if not this.empty %}
        <div id="{{ this.get_name() }}_legend" class="gridmap-legend" aria-label="{{ this.words.legend }}">
          <h4>{{ this.words.grid_households }}</h4>
          <ul>
          {% for c, n in this.rows %}
            <li data-class="{{ c.key }}"><span class="swatch" style="background: {{ c.colour }}"></span>
              <span class="label">{{ c.label }}</span> <span class="hint">{{ c.hint }}</span>
              <span class="count">{{ n }}</span></li>
          {% endfor %}
            <li class="total">{{ this.total_line }}</li>
          </ul>
        </div>
        {% endif %}
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var box = map.getContainer();
            ["_title"].forEach(function (suffix) {
                var el = document.getElementById("{{ this.get_name() }}" + suffix);
                if (el) { L.DomEvent.disableClickPropagation(el); box.appendChild(el); }
            });
            var legend = document.getElementById("{{ this.get_name() }}_legend");
            if (legend) {
                var control = L.control({position: "bottomright"});
                control.onAdd = function () {
                    L.DomEvent.disableClickPropagation(legend);
                    L.DomEvent.disableScrollPropagation(legend);
                    return legend;
                };
                control.addTo(map);
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, counts: Counter, total: int) -> None:
        super().__init__()
        self._name = "GridOverviewOverlay"
        self.title = html_text(title)
        self.rows = [(c, counts.get(c.key, 0)) for c in CLASSES]
        self.total = total
        self.empty = total == 0
        self.words = labels("map_text")
        self.total_line = message("map_grid_total", count=f'<span class="count">{total}</span>')


def _edit_link(template: str | None, community_code: object) -> str:
    if not template or not community_code:
        return ""
    url = template.format(community_code=quote(str(community_code), safe=""))
    return f' · <a href="{html_attribute(url)}" target="_top">{label("edit_boundary", "map_text")}</a>'


def build_grid_overview(
    grids: dict,
    *,
    title: str,
    center: tuple[float, float] | None = None,
    tiles: str | None = None,
    link_template: str = "/maps/grid/{code}",
    edit_template: str | None = None,
    static_url: str = DEFAULT_STATIC_URL,
    area_bounds: tuple[float, float, float, float] | None = None,
) -> folium.Map:
    """Map of all grids in `grids`, coloured by households against [target_min, target_max].

    `grids`: GeoJSON FeatureCollection in WGS-84; feature properties: code, name,
    households, target_min, target_max, community_name (optional). `center` is
    (lat, lon), used when there are no grids (otherwise the map fits the grids).
    `tiles` as for `offline_map`; with "gaode" the caller passes geometries already
    shifted to GCJ-02. `link_template` gets the URL-quoted grid code; `edit_template`
    (for planners) the grid's `community_code`, linking to the boundary editor. `area_bounds`
    (minLon, minLat, maxLon, maxLat, in the basemap's CRS): the viewer's area, fitted when there
    are no grids (the page says what would fill the map).
    """
    if center is not None and not (-90 <= center[0] <= 90 and -180 <= center[1] <= 180):
        raise ValueError(f"center must be (lat, lon), got {center!r}")

    features = [f for f in (grids or {}).get("features") or [] if f.get("geometry")]
    with_community = any((f.get("properties") or {}).get("community_name") for f in features)

    field = labels("map_field")
    counts: Counter = Counter()
    out_features = []
    bounds = None
    for feature in features:
        props = feature.get("properties") or {}
        households = int(props.get("households") or 0)
        lo = props.get("target_min")
        hi = props.get("target_max")
        lo = DEFAULT_TARGET_MIN if lo is None else int(lo)
        hi = DEFAULT_TARGET_MAX if hi is None else int(hi)
        cls = classify(households, lo, hi)
        counts[cls.key] += 1

        code = "" if props.get("code") is None else str(props["code"])
        link = link_template.format(code=quote(code, safe=""))
        name = html_text(props.get("name"))
        community = html_text(props.get("community_name") or "—")
        new_props = {
            "name": name,
            "code": html_text(code),
            "households": households,
            "target": f"{lo}–{hi}",
            "status": cls.label,
            "_class": cls.key,
            "_colour": cls.colour,
            "_popup": (
                f'<div class="gridmap-popup"><b>{name}</b><br>{field["code"]}：{html_text(code)}<br>'
                + (f"{field['community']}：{community}<br>" if with_community else "")
                + message("map_grid_households", households=households, target_min=lo, target_max=hi,
                          status=cls.label) + "<br>"
                f'<a href="{html_attribute(link)}" target="_top">{label("grid_detail", "map_text")}</a>'
                + _edit_link(edit_template, props.get("community_code"))
                + "</div>"
            ),
        }
        if with_community:
            new_props["community_name"] = community
        out_features.append(
            {"type": "Feature", "properties": new_props, "geometry": copy.deepcopy(feature["geometry"])}
        )
        minx, miny, maxx, maxy = shape(feature["geometry"]).bounds
        if bounds is None:
            bounds = [minx, miny, maxx, maxy]
        else:
            bounds = [min(bounds[0], minx), min(bounds[1], miny), max(bounds[2], maxx), max(bounds[3], maxy)]

    m = offline_map(
        tiles=tiles,
        static_url=static_url,
        location=list(center or FALLBACK_CENTER),
        zoom_start=13 if center else 5,
    )
    m.get_root().title = html_text(title)

    if out_features:
        fields = ["name", "code"] + (["community_name"] if with_community else []) + [
            "households",
            "target",
            "status",
        ]
        aliases = [field[f] for f in ("grid", "code", *(("community",) if with_community else ()), "households",
                                      "target", "status")]
        folium.GeoJson(
            {"type": "FeatureCollection", "features": out_features},
            name=label("grids", "map_layer"),
            style_function=_style,
            highlight_function=_highlight,
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
            popup=folium.GeoJsonPopup(fields=["_popup"], labels=False),
            zoom_on_click=False,
        ).add_to(m)
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(20, 20))
    elif area_bounds:
        m.fit_bounds([[area_bounds[1], area_bounds[0]], [area_bounds[3], area_bounds[2]]], padding=(20, 20))

    OverviewOverlay(title, counts, len(out_features)).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
