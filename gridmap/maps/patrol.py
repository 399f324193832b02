"""Today's patrols map: each worker's track and check-ins in their own colour.

Pure: takes plain data (the daily tracks and the check-in FeatureCollection from
``gridmap.patrol.tracks``, the grid FeatureCollection from the areas service) and
returns a folium map; never touches the database or Flask. Flagged check-ins are drawn
larger with a red ring and list their flags.
"""

from __future__ import annotations

from typing import Any

import folium
from shapely.geometry import shape

from gridmap.escape import html_text
from gridmap.labels import label, labels
from gridmap.maps.assets import DEFAULT_STATIC_URL, offline_map
from gridmap.maps.popups import Popup, Tooltip
from gridmap.maps.tiled import StepLegend, TiledGrids, grid_popup_head, layer_config, popup_template
from gridmap.messages import message

# Distinct on a light background, readable by most colour-blind people (Tableau 10).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#393b79", "#637939", "#8c6d31")
FLAG_RING = "#d62728"
FALLBACK_CENTER = (28.45, 119.91)
# A grid's share of households visited (the tile's ``coverage``), from the highest class down;
# a grid without households has no coverage.
COVERAGE_STEPS = (("most", 0.8, "#15803d"), ("half", 0.5, "#84cc16"), ("some", 1e-9, "#facc15"),
                  ("none", 0.0, "#f87171"))
NO_COVERAGE = ("empty", "#d1d5db")


def coverage_layer(tile_url: str) -> dict[str, Any]:
    """The grids layer from ``tile_url`` (asking ``patrol_day``) coloured by coverage."""
    field = labels("map_field")
    popup = popup_template(grid_popup_head(), html_text(field["visited"]) + "：{visited}/{households}",
                           html_text(field["coverage"]) + "：{coverage}")
    return layer_config(url=tile_url, popup=popup, percent=("coverage",),
                        colour={"property": "coverage", "steps": [[lo, colour] for _k, lo, colour in COVERAGE_STEPS],
                                "none": NO_COVERAGE[1]})


def coverage_legend() -> StepLegend:
    words = labels("patrol_coverage")
    rows = [(key, colour, words[key]) for key, _lo, colour in COVERAGE_STEPS] + [(NO_COVERAGE[0], NO_COVERAGE[1],
                                                                                  words[NO_COVERAGE[0]])]
    return StepLegend(label("patrol_coverage", "map_text"), rows)


def colour_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def worker_colours(tracks: list[dict[str, Any]]) -> dict[str, str]:
    """A colour per worker, stable for the list's order (the service sorts by username)."""
    return {t["user"]: colour_for(i) for i, t in enumerate(tracks)}


def _latlon(coords: list[float]) -> list[float]:
    return [coords[1], coords[0]]


def build_patrol_map(tracks: list[dict[str, Any]], checkins: dict[str, Any], grids: dict[str, Any] | None = None, *,
                     title: str, tiles: str | None = None, static_url: str = DEFAULT_STATIC_URL,
                     area_bounds: tuple[float, float, float, float] | None = None,
                     behind_places: dict[str, Any] | None = None,
                     grid_tiles: dict[str, Any] | None = None) -> folium.Map:
    """``tracks``: items of ``daily_tracks`` (``user``, ``display_name``, ``track`` GeoJSON…);
    ``checkins``: a FeatureCollection of Points with ``user``, ``recorded_at``, ``flags``…;
    ``grids``: grid outlines for orientation; ``area_bounds`` (minLon, minLat, maxLon, maxLat): the
    viewer's area, fitted when no track is drawn; ``behind_places``: key places behind their patrol
    plan (Points with ``place_name``, ``period``, ``done``, ``required``), a layer of their own. All in
    the basemap's coordinates. ``grid_tiles``: instead of ``grids``, the grid layer from vector tiles
    (``coverage_layer``), with its legend."""
    colours = worker_colours(tracks)
    field = labels("map_field")
    m = offline_map(tiles=tiles, static_url=static_url, location=list(FALLBACK_CENTER), zoom_start=13)
    bounds: list[float] | None = None

    def extend(geometry: dict[str, Any]) -> None:
        nonlocal bounds
        minx, miny, maxx, maxy = shape(geometry).bounds
        bounds = [minx, miny, maxx, maxy] if bounds is None else [
            min(bounds[0], minx), min(bounds[1], miny), max(bounds[2], maxx), max(bounds[3], maxy)]

    if grid_tiles:
        TiledGrids(grid_tiles, static_url).add_to(m)
        coverage_legend().add_to(m)
    outlines = [f for f in (grids or {}).get("features", []) if f.get("geometry")]
    if outlines:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": f["geometry"],
                 "properties": {"name": html_text(f["properties"].get("name")), "code": html_text(f["properties"].get("code"))}}
                for f in outlines]},
            name=label("grids", "map_layer"), style_function=lambda _f: {"color": "#52606d", "weight": 1, "fill": False, "dashArray": "4 3"},
            tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=[field["grid"], field["code"]]),
        ).add_to(m)
        for f in outlines:
            extend(f["geometry"])

    groups: dict[str, folium.FeatureGroup] = {}
    for t in tracks:
        colour = colours[t["user"]]
        group = folium.FeatureGroup(name=message("map_worker_layer", name=html_text(t["display_name"]), points=t["points"]))
        groups[t["user"]] = group
        geometry = t.get("track")
        if geometry and geometry["type"] == "LineString":
            folium.PolyLine([_latlon(c) for c in geometry["coordinates"]], color=colour, weight=4, opacity=0.85,
                            tooltip=Tooltip(message("map_worker_track", name=t["display_name"],
                                                    km=f"{t['distance_m'] / 1000:.2f}"))).add_to(group)
        if geometry:
            extend(geometry)
        group.add_to(m)

    for feature in checkins.get("features", []):
        props = feature["properties"]
        group = groups.get(props["user"])
        if group is None:
            continue
        flags = props.get("flags") or []
        lat, lon = _latlon(feature["geometry"]["coordinates"])
        flag_text = "、".join(label(f, "checkin_flag") for f in flags)
        grid_name = props.get("grid_name") or label("outside_grids", "map_text")
        accuracy = message("map_accuracy", metres=html_text(round(props["accuracy_m"])))
        popup = (f"<b>{html_text(props.get('display_name'))}</b><br>{field['time']}：{html_text(props['recorded_at'][11:16])}"
                 f"<br>{field['grid']}：{html_text(grid_name)}<br>{field['accuracy']}：{accuracy}"
                 + (f"<br>{field['checkin_household']}：{html_text(props['household_code'])}"
                    if props.get("household_code") else "")
                 + (f"<br>{field['checkin_note']}：{html_text(props['note'])}" if props.get("note") else "")
                 + (f'<br><b style="color:{FLAG_RING}">{field["flags"]}：{html_text(flag_text)}</b>' if flags else ""))
        folium.CircleMarker(
            [lat, lon], radius=8 if flags else 5, color=FLAG_RING if flags else colours[props["user"]],
            weight=3 if flags else 1, fill=True, fill_color=colours[props["user"]], fill_opacity=0.9,
            popup=Popup(popup, max_width=260),
            tooltip=Tooltip(f"{props.get('display_name') or ''}" + (f" · {flag_text}" if flags else "")),
            class_name="patrol-checkin flagged" if flags else "patrol-checkin",
        ).add_to(group)

    behind = _behind_places_layer(behind_places)
    if behind is not None:
        behind.add_to(m)
    if groups or behind is not None:
        folium.LayerControl(collapsed=True).add_to(m)
    if area_bounds and not any(t.get("track") for t in tracks):
        bounds = list(area_bounds)  # nothing patrolled: the viewer's whole area, not just outlined grids
    if bounds is not None:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(20, 20))
    return m


BEHIND_COLOUR = "#b45309"


def _behind_places_layer(places: dict[str, Any] | None) -> folium.FeatureGroup | None:
    """Key places behind plan: a square-ish amber marker each, saying how far behind."""
    features = (places or {}).get("features") or []
    if not features:
        return None
    group = folium.FeatureGroup(name=label("behind_places", "map_layer"))
    for feature in features:
        props = feature["properties"]
        lat, lon = _latlon(feature["geometry"]["coordinates"])
        text = message("map_behind_place", name=props["place_name"], period=label(props["period"], "period_unit"),
                       done=props["done"], required=props["required"])
        folium.CircleMarker([lat, lon], radius=9, color=BEHIND_COLOUR, weight=3, fill=True, fill_color="#fde68a",
                            fill_opacity=0.9, popup=Popup(html_text(text), max_width=260), tooltip=Tooltip(text),
                            class_name="plan-behind-place").add_to(group)
    return group
