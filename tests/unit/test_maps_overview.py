"""Grid overview map: colours by households against target, legend, empty state, offline."""

from __future__ import annotations

import hashlib
import json
import re

import folium
import pytest

from gridmap.config import STATIC_DIR
from gridmap.maps.assets import MANIFEST_PATH, assert_offline, asset_refs, render_html
from gridmap.maps.overview import build_grid_overview, classify


def square(x: float, y: float, d: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def grid(code: str, households: int | None, x: float, y: float, **extra) -> dict:
    props = {"code": code, "name": f"{code[-3:]}号网格", "households": households,
             "target_min": 300, "target_max": 500, **extra}
    return {"type": "Feature", "properties": props, "geometry": square(x, y)}


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


BOUNDARY = collection(
    grid("331102001001", 299, 119.90, 28.43),
    grid("331102001002", 300, 119.91, 28.43),
    grid("331102001003", 500, 119.92, 28.43),
    grid("331102001004", 501, 119.93, 28.43),
    grid("331102001005", 0, 119.94, 28.47),
    grid("331102001006", None, 119.90, 28.44),
)


def legend_counts(html: str) -> dict[str, int]:
    rows = re.findall(r'<li data-class="(\w+)">.*?<span class="count">(\d+)</span>', html, re.S)
    return {k: int(n) for k, n in rows}


def geojson_layer(m: folium.Map) -> folium.GeoJson:
    layers = [c for c in m._children.values() if isinstance(c, folium.GeoJson)]
    assert len(layers) == 1
    return layers[0]


@pytest.mark.parametrize(
    "households, key, label",
    [(None, "empty", "无住户"), (0, "empty", "无住户"), (1, "under", "偏少"), (299, "under", "偏少"),
     (300, "within", "达标"), (500, "within", "达标"), (501, "over", "超员")],
)
def test_classify_boundaries(households, key, label):
    c = classify(households, 300, 500)
    assert (c.key, c.label) == (key, label)


def test_classify_uses_each_grids_own_target():
    assert classify(250, 200, 260).key == "within"
    assert classify(250, None, None).key == "under"  # defaults 300–500


def test_each_grid_is_coloured_by_its_class():
    layer = geojson_layer(build_grid_overview(BOUNDARY, title="网格总览"))
    by_code = {f["properties"]["code"]: f["properties"] for f in layer.data["features"]}
    assert {c: p["status"] for c, p in by_code.items()} == {
        "331102001001": "偏少", "331102001002": "达标", "331102001003": "达标",
        "331102001004": "超员", "331102001005": "无住户", "331102001006": "无住户",
    }
    colours = {p["status"]: p["_colour"] for p in by_code.values()}
    assert len(set(colours.values())) == 4
    # style_function output is what Leaflet gets
    feature = next(f for f in layer.data["features"] if f["properties"]["code"] == "331102001004")
    assert layer.style_function(feature)["fillColor"] == colours["超员"]


def test_legend_counts_and_chinese_labels():
    html = render_html(build_grid_overview(BOUNDARY, title="网格总览"))
    assert legend_counts(html) == {"under": 1, "within": 2, "over": 1, "empty": 2}
    for text in ["偏少", "达标", "超员", "无住户", "网格户数", '共 <span class="count">6</span> 个网格']:
        assert text in html
    assert "当前范围内还没有网格" not in html


def test_tooltip_popup_and_layer_control():
    m = build_grid_overview(BOUNDARY, title="网格总览", link_template="/maps/grid/{code}?from=overview")
    html = render_html(m)
    for alias in ["网格", "编码", "户数", "目标"]:
        assert json.dumps(alias) in html
    layer = geojson_layer(m)
    props = layer.data["features"][0]["properties"]
    assert props["target"] == "300–500"
    assert '<a href="/maps/grid/331102001001?from=overview"' in props["_popup"]
    assert "L.control.layers" in html


def test_community_column_only_when_present():
    plain = render_html(build_grid_overview(BOUNDARY, title="t"))
    assert json.dumps("社区") not in plain
    fc = collection(grid("331102001001", 320, 119.90, 28.43, community_name="丽阳社区"))
    html = render_html(build_grid_overview(fc, title="t"))
    assert json.dumps("社区") in html


def test_fits_bounds_to_the_data():
    html = render_html(build_grid_overview(BOUNDARY, title="t"))
    assert re.search(r"fitBounds\(\s*\[\[28\.43, 119\.9\], \[28\.48, 119\.95\]\]", html)


def test_empty_state():
    html = render_html(build_grid_overview(collection(), title="网格总览", center=(28.45, 119.92)))
    assert "gridmap-legend" not in html.split("<body>", 1)[1].split("<script>", 1)[0]
    assert "fitBounds" not in html
    assert "[28.45, 119.92]" in html


def test_empty_map_fits_the_area_bounds():
    html = render_html(build_grid_overview(collection(), title="网格总览", area_bounds=(119.8, 28.3, 120.1, 28.6)))
    assert "fitBounds" in html and "[[28.3, 119.8], [28.6, 120.1]]" in html
    with_grids = render_html(build_grid_overview(collection(grid("330100001001001", 400, 119.9, 28.4)), title="网格总览",
                                                 area_bounds=(119.8, 28.3, 120.1, 28.6)))
    assert "[[28.3, 119.8], [28.6, 120.1]]" not in with_grids
    assert_offline(html)


def test_names_are_escaped():
    fc = collection(grid("331102001001", 320, 119.90, 28.43, name='<img src=x onerror="alert(1)">'))
    m = build_grid_overview(fc, title="<script>alert(1)</script>")
    html = render_html(m)
    assert "<img src=x" not in html and "<script>alert(1)" not in html
    assert geojson_layer(m).data["features"][0]["properties"]["name"].startswith("&lt;img")


def test_center_must_be_lat_lon():
    with pytest.raises(ValueError):
        build_grid_overview(collection(), title="t", center=(119.92, 28.45))


def test_overview_page_is_offline_and_its_assets_are_vendored():
    html = render_html(build_grid_overview(BOUNDARY, title="网格总览"))
    assert_offline(html)
    manifest = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    sha = {f["path"]: f["sha256"] for p in manifest["packages"] for f in p["files"]}
    local = [r for r in asset_refs(html) if r.startswith("/static/")]
    assert local
    for url in local:
        rel = url[len("/static/"):]
        assert hashlib.sha256((STATIC_DIR / rel).read_bytes()).hexdigest() == sha[rel], rel


def test_input_is_not_mutated():
    before = json.dumps(BOUNDARY, sort_keys=True)
    build_grid_overview(BOUNDARY, title="t")
    assert json.dumps(BOUNDARY, sort_keys=True) == before
