"""The 民情地图 (people's-situation map) of one grid.

Pure: plain GeoJSON in (already masked for the viewer and, for a GCJ-02 basemap,
already shifted by ``gridmap.maps.display.for_basemap``), a folium map out; it never
queries. Layers, each one GeoJSON layer with a style function (never one marker per
household):

- 网格边界: the grid polygon;
- 住户: every household as a circle marker, fill by risk level (one grey "已隐藏" when the
  viewer sees households masked), outline by the kind of tag (重点人员, 关爱对象,
  出租房/流动人口), popups with what the caller passed;
- 党员: party members; 联系线: one multi-line per member to the households they look after;
- 重点场所 and 未办结隐患: optional (the layers exist, empty, until data is passed);
- a search box over 户号 and 地址, a layer control and a Chinese legend.

``window.gridmapLayers`` names the Leaflet layers (households, members, lines, boundary,
hazards, places) for tests and page scripts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import MacroElement
from folium.plugins import Search
from folium.template import Template
from shapely.geometry import shape

from gridmap.escape import html_text
from gridmap.labels import label, labels
from gridmap.maps.assets import DEFAULT_STATIC_URL, offline_map
from gridmap.maps.fold import FoldOnPhones
from gridmap.messages import message

FALLBACK_CENTER = (28.45, 119.92)


@dataclass(frozen=True)
class Style:
    key: str
    label: str
    colour: str


def _risk(key: str, colour: str) -> Style:
    return Style(key, label(key, "household_risk"), colour)


def _kind(key: str, colour: str) -> Style:
    return Style(key, label(key, "household_kind"), colour)


RISKS: tuple[Style, ...] = (_risk("high", "#dc2626"), _risk("medium", "#f59e0b"), _risk("low", "#16a34a"),
                            _risk("none", "#3b82f6"))
RISK_BY_KEY = {r.key: r for r in RISKS}
# Masked households carry no risk level: not "未评定", hidden.
RISK_HIDDEN = _risk("hidden", "#9ca3af")

# Households to care for, and rented or migrant ones (stored tags).
CARE_TAGS = frozenset({"孤寡老人", "留守儿童", "残疾人", "困难家庭", "老党员", "失业", "下岗"})
RENTAL_TAGS = frozenset({"出租房", "外来人口", "流动人口"})
# Outline by the most important kind of tag a household carries (first match wins): the
# focus kind's tags are the caller's (the sensitive tags and their masked stand-in).
FOCUS, CARE, RENTAL = _kind("focus", "#111827"), _kind("care", "#7c3aed"), _kind("rental", "#92400e")
KINDS: tuple[Style, ...] = (FOCUS, CARE, RENTAL)
PLAIN = _kind("plain", "#1f2937")
PARTY_COLOUR = "#b71c1c"


def tag_kind(tags: list[str] | None, focus_tags: frozenset[str]) -> tuple[Style, int, float]:
    present = set(tags or ())
    for style, names, radius, weight in ((FOCUS, focus_tags, 7, 3.0), (CARE, CARE_TAGS, 6, 3.0),
                                         (RENTAL, RENTAL_TAGS, 6, 2.0)):
        if present & names:
            return style, radius, weight
    return PLAIN, 4, 1.0


def _household_style(feature: dict) -> dict:
    p = feature["properties"]
    return {"radius": p["_r"], "fillColor": p["_f"], "color": p["_s"], "weight": p["_w"],
            "fillOpacity": 0.85, "opacity": 1}


def _boundary_style(feature: dict) -> dict:
    return {"color": PARTY_COLOUR, "weight": 3, "dashArray": "8 6", "fillColor": "#fde68a", "fillOpacity": 0.08}


def _line_style(feature: dict) -> dict:
    return {"color": PARTY_COLOUR, "weight": 1.2, "opacity": 0.55, "dashArray": "3 4"}


HAZARD_COLOURS = {"urgent": "#dc2626", "complex": "#f97316", "normal": "#facc15"}


def _hazard_style(feature: dict) -> dict:
    colour = HAZARD_COLOURS.get(str(feature["properties"].get("_sev", "")), "#facc15")
    return {"radius": 8, "fillColor": colour, "color": "#7f1d1d", "weight": 2, "fillOpacity": 0.9}


def _place_style(feature: dict) -> dict:
    return {"radius": 7, "fillColor": "#0ea5e9", "color": "#075985", "weight": 2, "fillOpacity": 0.9}


def _households(collection: dict, masked: bool, focus_tags: frozenset[str]) -> tuple[list[dict], Counter, Counter]:
    features, risks, kinds = [], Counter(), Counter()
    for i, feature in enumerate(f for f in collection.get("features") or [] if f.get("geometry")):
        p = feature.get("properties") or {}
        risk = RISK_HIDDEN if masked else RISK_BY_KEY.get(p.get("risk_level") or "none", RISK_BY_KEY["none"])
        kind, radius, weight = tag_kind(p.get("tags"), focus_tags)
        risks[risk.key] += 1
        kinds[kind.key] += 1
        code, address = html_text(p.get("code")), html_text(p.get("address"))
        features.append({"type": "Feature", "id": i, "geometry": feature["geometry"], "properties": {
            "q": f"{code} {address}", "n": html_text(p.get("head_name") or "—"), "t": html_text(p.get("phone") or "—"),
            "z": p.get("size") or "—", "g": html_text("、".join(p.get("tags") or []) or "—"), "k": risk.label,
            "m": html_text(p.get("member_name") or label("unassigned", "map_text")),
            "v": html_text(p.get("last_visit") or (label("not_visited", "map_text") if p.get("member_id") else "—")),
            "_r": radius, "_f": risk.colour, "_s": kind.colour, "_w": weight,
        }})
    return features, risks, kinds


def _contact_lines(households: dict, members: dict) -> list[dict]:
    at = {(m.get("properties") or {}).get("id"): m["geometry"]["coordinates"]
          for m in members.get("features") or [] if m.get("geometry")}
    lines: dict[Any, list] = {}
    for feature in households.get("features") or []:
        p = feature.get("properties") or {}
        start = at.get(p.get("member_id"))
        if start is not None and feature.get("geometry"):
            lines.setdefault(p["member_id"], []).append([start, feature["geometry"]["coordinates"]])
    return [{"type": "Feature", "id": i, "geometry": {"type": "MultiLineString", "coordinates": segments},
             "properties": {"m": str(member_id)}}
            for i, (member_id, segments) in enumerate(lines.items())]


def _hazard_names(props: dict) -> dict:
    """An open hazard's codes named for its popup: severity, status, and the resolve-by deadline
    (ISO, Beijing time) as a minute, marked when overdue."""
    deadline = props.get("deadline")
    text = deadline[:16].replace("T", " ") + (message("hazard_overdue_mark") if props.get("overdue") else "") \
        if deadline else None
    return {**props, "severity_name": label(props.get("severity"), "hazard_severity"),
            "status_name": label(props.get("status"), "hazard_status"), "deadline_text": text}


def _points(collection: dict | list | None, fields: tuple[str, ...], names=None) -> list[dict]:
    """Optional point layers (hazards, key places): a FeatureCollection or a list of dicts
    with lon/lat; only ``fields`` are kept (after ``names`` has named the codes), escaped."""
    if collection is None:
        return []
    items = collection.get("features", []) if isinstance(collection, dict) else collection
    out = []
    for i, item in enumerate(items):
        if "geometry" in item:
            geometry, props = item.get("geometry"), item.get("properties") or {}
        else:
            geometry = {"type": "Point", "coordinates": [item["lon"], item["lat"]]}
            props = item
        if not geometry:
            continue
        props = names(props) if names else props
        out.append({"type": "Feature", "id": i, "geometry": geometry,
                    "properties": {**{k: html_text(props.get(k) or "—") for k in fields}, "_sev": props.get("severity")}})
    return out


class _Legend(MacroElement):
    """Title and a Chinese legend, moved into the map container by script (see overview)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .mq-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%); z-index: 1000;
            background: rgba(255,255,255,.93); padding: 5px 14px; border-radius: 6px; white-space: nowrap;
            box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 600 16px/1.4 "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }
          .mq-legend { background: rgba(255,255,255,.95); padding: 8px 12px; border-radius: 6px; color: #111827;
            box-shadow: 0 1px 4px rgba(0,0,0,.3); font: 13px/1.6 "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }
          .mq-legend h4 { margin: 4px 0 2px; font-size: 13px; }
          .mq-legend summary { cursor: pointer; font-weight: 600; }
          @media (max-width: 700px) { .mq-title { display: none; } .mq-legend { max-height: 45vh; overflow-y: auto; }
            .mq-legend summary { min-height: 40px; display: flex; align-items: center; } }
          .mq-legend ul { list-style: none; margin: 0; padding: 0; }
          .mq-legend li { display: flex; align-items: center; gap: 6px; }
          .mq-legend .dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%; }
          .mq-legend .ring { display: inline-block; width: 10px; height: 10px; border-radius: 50%; background: #fff; }
          .mq-legend .count { margin-left: auto; padding-left: 10px; font-weight: 600; }
          .mq-pm { background: #b71c1c; color: #fff; border: 2px solid #fff; border-radius: 50%; width: 22px !important;
            height: 22px !important; font: 700 12px/18px "Noto Sans CJK SC", sans-serif; text-align: center;
            box-shadow: 0 1px 3px rgba(0,0,0,.5); }
          .mq-legend .mq-pm { display: inline-block; width: 16px !important; height: 16px !important;
            font-size: 10px; line-height: 13px; border-width: 1px; }
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}_title" class="mq-title">{{ this.title }}</div>
        <details id="{{ this.get_name() }}_legend" class="mq-legend map-fold" open>
          <summary>{{ this.words.legend }}</summary>
          <h4>{{ this.words.risk }}</h4>
          <ul>{% for s, n in this.risks %}<li data-risk="{{ s.key }}"><span class="dot" style="background: {{ s.colour }}"></span>{{ s.label }}<span class="count">{{ n }}</span></li>{% endfor %}</ul>
          <h4>{{ this.words.tag_kind }}</h4>
          <ul>{% for s, n in this.kinds %}<li data-kind="{{ s.key }}"><span class="ring" style="border: 3px solid {{ s.colour }}"></span>{{ s.label }}<span class="count">{{ n }}</span></li>{% endfor %}</ul>
          <h4>{{ this.words.party }}</h4>
          <ul><li><span class="mq-pm">{{ this.words.party_mark }}</span>{{ this.words.member }}<span class="count">{{ this.members }}</span></li>
              <li><span style="display:inline-block;width:16px;border-top:2px dashed #b71c1c"></span>{{ this.words.contacts }}<span class="count">{{ this.covered }}/{{ this.total }}</span></li>
              {% if this.hazards %}<li><span class="dot" style="background:#f97316"></span>{{ this.words.open_hazards }}<span class="count">{{ this.hazards }}</span></li>{% endif %}
              {% if this.places %}<li><span class="dot" style="background:#0ea5e9"></span>{{ this.words.key_places }}<span class="count">{{ this.places }}</span></li>{% endif %}
          </ul>
        </details>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var title = document.getElementById("{{ this.get_name() }}_title");
            L.DomEvent.disableClickPropagation(title);
            map.getContainer().appendChild(title);
            var legend = document.getElementById("{{ this.get_name() }}_legend");
            var control = L.control({position: "bottomright"});
            control.onAdd = function () {
                L.DomEvent.disableClickPropagation(legend);
                L.DomEvent.disableScrollPropagation(legend);
                return legend;
            };
            control.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, risks: Counter, kinds: Counter, members: int, covered: int, total: int,
                 hazards: int, places: int, masked: bool) -> None:
        super().__init__()
        self._name = "MinqingLegend"
        self.title = html_text(title)
        self.risks = [(s, risks.get(s.key, 0)) for s in ((RISK_HIDDEN,) if masked else RISKS)]
        self.kinds = [(s, kinds.get(s.key, 0)) for s in (*KINDS, PLAIN)]
        self.words = labels("map_text")
        self.members, self.covered, self.total = members, covered, total
        self.hazards, self.places = hazards, places


class _Registry(MacroElement):
    """``window.gridmapLayers``: the Leaflet layers by role, for tests and page scripts."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        window.gridmapLayers = { {% for key, layer in this.layers %}{{ key }}: {{ layer.get_name() }}{{ "," if not loop.last }} {% endfor %} };
        {% endmacro %}"""
    )

    def __init__(self, layers: dict[str, Any]) -> None:
        super().__init__()
        self._name = "GridmapLayers"
        self.layers = list(layers.items())


def _empty_layer(name: str) -> folium.GeoJson:
    return folium.GeoJson({"type": "FeatureCollection", "features": []}, name=name)


def build_minqing_map(
    grid: dict,
    households: dict,
    members: dict,
    *,
    hazards: dict | list | None = None,
    key_places: dict | list | None = None,
    title: str | None = None,
    tiles: str | None = None,
    static_url: str = DEFAULT_STATIC_URL,
    masked: bool = False,
    focus_tags: frozenset[str],
) -> folium.Map:
    """The 民情地图 of one grid; see the module docstring.

    `grid`: a GeoJSON Feature (properties name, code). `households`: FeatureCollection of
    points with code, address, size, tags, risk_level, head_name, phone (as the viewer may
    see them), member_id, member_name, last_visit (the Beijing day of the last party visit, or
    None). `members`: FeatureCollection of points with id,
    name, phone, branch, households. `hazards` / `key_places`: optional FeatureCollections
    (or lists of dicts with lon/lat) of open hazards (code, category, severity (normal |
    complex | urgent), status, overdue, deadline (ISO), description) and key places (name,
    kind_name, address, note; see gridmap.places.service). `masked`: the households are
    masked for the viewer (their risk level shows as hidden, not as unassessed). `focus_tags`:
    the tags that outline a household as 重点人员 (the sensitive tags and the masked stand-in,
    gridmap.auth.masking: the caller passes them).
    """
    gprops = grid.get("properties") or {}
    title = title or message("minqing_title", name=gprops.get("name", ""))
    bounds = shape(grid["geometry"]).bounds if grid.get("geometry") else None
    center = ((bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2) if bounds else FALLBACK_CENTER
    m = offline_map(tiles=tiles, static_url=static_url, location=list(center), zoom_start=17)
    m.get_root().title = html_text(title)

    layers: dict[str, Any] = {}
    if grid.get("geometry"):
        layers["boundary"] = folium.GeoJson(
            {"type": "FeatureCollection", "features": [{"type": "Feature", "id": 0, "geometry": grid["geometry"],
                                                        "properties": {"name": html_text(gprops.get("name"))}}]},
            name=label("grid_boundary", "map_layer"), style_function=_boundary_style, interactive=False).add_to(m)

    features, risks, kinds = _households(households, masked, focus_tags)
    layer, field = labels("map_layer"), labels("map_field")
    if features:
        layers["households"] = folium.GeoJson(
            {"type": "FeatureCollection", "features": features}, name=layer["households"],
            marker=folium.CircleMarker(radius=5, fill=True), style_function=_household_style,
            tooltip=folium.GeoJsonTooltip(fields=["q"], labels=False),
            popup=folium.GeoJsonPopup(fields=["q", "n", "t", "z", "g", "k", "m", "v"],
                                      aliases=[field[k] for k in ("household", "head_name", "phone", "size", "tag_kind", "risk",
                                                               "member", "last_visit")]),
            zoom_on_click=False,
        ).add_to(m)
    else:
        layers["households"] = _empty_layer(layer["households"]).add_to(m)

    lines = _contact_lines(households, members)
    layers["lines"] = (folium.GeoJson({"type": "FeatureCollection", "features": lines}, name=layer["member_lines"],
                                      style_function=_line_style, interactive=False)
                       if lines else _empty_layer(layer["member_lines"])).add_to(m)

    member_features = [{"type": "Feature", "id": i, "geometry": f["geometry"], "properties": {
        "n": html_text(f["properties"].get("name")), "t": html_text(f["properties"].get("phone") or "—"),
        "b": html_text(f["properties"].get("branch") or "—"), "h": f["properties"].get("households", 0)}}
        for i, f in enumerate(x for x in members.get("features") or [] if x.get("geometry"))]
    if member_features:
        layers["members"] = folium.GeoJson(
            {"type": "FeatureCollection", "features": member_features}, name=layer["members"],
            marker=folium.Marker(icon=folium.DivIcon(html=label("party_mark", "map_text"), icon_size=(22, 22), icon_anchor=(11, 11),
                                                     class_name="mq-pm")),
            tooltip=folium.GeoJsonTooltip(fields=["n"], labels=False),
            popup=folium.GeoJsonPopup(fields=["n", "t", "b", "h"], aliases=[field[k] for k in ("party_member", "phone", "branch", "contacts")]),
            zoom_on_click=False,
        ).add_to(m)
    else:
        layers["members"] = _empty_layer(layer["members"]).add_to(m)

    places = _points(key_places, ("name", "kind_name", "address", "note"))
    layers["places"] = (folium.GeoJson(
        {"type": "FeatureCollection", "features": places}, name=layer["key_places"], marker=folium.CircleMarker(radius=7, fill=True),
        style_function=_place_style, tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        popup=folium.GeoJsonPopup(fields=["name", "kind_name", "address", "note"],
                                  aliases=[field[k] for k in ("place", "place_kind", "address", "note")]))
        if places else _empty_layer(layer["key_places"])).add_to(m)

    popup = ("code", "category", "severity_name", "deadline_text", "status_name", "description")
    open_hazards = _points(hazards, popup, _hazard_names)
    layers["hazards"] = (folium.GeoJson(
        {"type": "FeatureCollection", "features": open_hazards}, name=layer["open_hazards"],
        marker=folium.CircleMarker(radius=8, fill=True), style_function=_hazard_style,
        tooltip=folium.GeoJsonTooltip(fields=["category"], labels=False),
        popup=folium.GeoJsonPopup(fields=list(popup),
                                  aliases=[field[k] for k in ("hazard_code", "category", "severity", "deadline", "status",
                                                              "description")]))
        if open_hazards else _empty_layer(layer["open_hazards"])).add_to(m)

    if features:
        Search(layer=layers["households"], search_label="q", placeholder=label("search", "map_text"), collapsed=False,
               search_zoom=19, position="topleft").add_to(m)
    covered = sum(1 for f in households.get("features") or [] if (f.get("properties") or {}).get("member_id"))
    _Legend(title, risks, kinds, len(member_features), covered, len(features), len(open_hazards),
            len(places), masked).add_to(m)
    FoldOnPhones(folium.LayerControl(collapsed=False, position="topright").add_to(m)).add_to(m)
    _Registry(layers).add_to(m)
    if bounds:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(20, 20))
    return m
