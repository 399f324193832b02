"""Map pages load every JS/CSS/font/image from our static/vendor, never from a CDN."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import folium
import pytest
from folium import plugins
from folium.elements import JSCSSMixin

from gridmap.config import GAODE_TILES, STATIC_DIR, tiles_are_gcj02
from gridmap.maps.assets import (
    MANIFEST_PATH,
    OfflineAssetError,
    assert_offline,
    asset_refs,
    make_tile_layer,
    offline_map,
    render_html,
    use_offline_assets,
)

VENDOR = STATIC_DIR / "vendor"
MANIFEST = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
SHA_BY_PATH = {f["path"]: f["sha256"] for p in MANIFEST["packages"] for f in p["files"]}
CSS_REF = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.S)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def static_file(url: str, static_url: str = "/static") -> str:
    """'/static/vendor/x.js' -> 'vendor/x.js' (the manifest's path form)."""
    assert url.startswith(static_url + "/"), f"{url} is not under {static_url}/"
    return url[len(static_url) + 1 :].split("?", 1)[0].split("#", 1)[0]


def check_local_refs(html: str, static_url: str = "/static") -> list[str]:
    """Every resource the page loads is a vendored file whose sha256 matches the manifest;
    CSS it loads is followed, so fonts/images referenced by url() are checked too."""
    seen: list[str] = []
    todo = [static_file(u, static_url) for u in asset_refs(html) if u.startswith("/")]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.append(rel)
        path = STATIC_DIR / rel
        assert path.is_file(), f"{rel} is referenced but missing"
        assert rel in SHA_BY_PATH, f"{rel} is not in MANIFEST.json"
        assert sha256(path) == SHA_BY_PATH[rel], f"{rel} sha256 differs from MANIFEST.json"
        if rel.endswith(".css"):
            for m in CSS_REF.finditer(path.read_text(encoding="utf-8")):
                ref = (m.group(2) if m.group(2) is not None else m.group(4)).strip()
                if ref.startswith(("data:", "#", "%23")):
                    continue
                assert not re.match(r"^([a-z]+:)?//", ref, re.I), f"{rel} loads {ref} from outside"
                target = (path.parent / ref.split("#", 1)[0].split("?", 1)[0]).resolve()
                todo.append(target.relative_to(STATIC_DIR.resolve()).as_posix())
    return seen


def all_plugins_map(**kwargs) -> folium.Map:
    """A map with every folium plugin the app uses."""
    m = offline_map(location=(28.45, 119.92), zoom_start=14, **kwargs)
    cluster = plugins.MarkerCluster(name="户").add_to(m)
    folium.Marker([28.45, 119.92], icon=folium.Icon(icon="home", angle=30)).add_to(cluster)
    folium.Marker([28.451, 119.921], icon=folium.Icon(prefix="fa", icon="user")).add_to(cluster)
    plugins.HeatMap([[28.45, 119.92, 2.0], [28.452, 119.925, 1.0]], name="隐患热力").add_to(m)
    plugins.HeatMapWithTime([[[28.45, 119.92, 1.0]], [[28.451, 119.921, 1.0]]], index=["1月", "2月"]).add_to(m)
    points = folium.GeoJson(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"name": "一号网格"},
                 "geometry": {"type": "Point", "coordinates": [119.92, 28.45]}}
            ],
        },
        name="点",
    ).add_to(m)
    plugins.Search(points, search_label="name", placeholder="搜索").add_to(m)
    plugins.Fullscreen().add_to(m)
    plugins.LocateControl().add_to(m)
    plugins.Draw().add_to(m)
    plugins.GeoMan().add_to(m)
    plugins.MiniMap(tile_layer=make_tile_layer("/tiles/{z}/{x}/{y}.png")).add_to(m)
    folium.LayerControl().add_to(m)
    return m


# ------------------------------------------------------------------ the vendored tree


def test_every_vendored_file_is_in_the_manifest_with_its_sha256():
    on_disk = {p.relative_to(STATIC_DIR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    on_disk.discard("vendor/MANIFEST.json")
    assert on_disk == set(SHA_BY_PATH)
    for rel, digest in SHA_BY_PATH.items():
        assert sha256(STATIC_DIR / rel) == digest, rel


def test_manifest_records_name_version_and_integrity():
    names = {(p["name"], p["version"]) for p in MANIFEST["packages"]}
    for wanted in [("leaflet", "1.9.4"), ("bootstrap", "5.2.2"), ("jquery", "3.7.1"),
                   ("@fortawesome/fontawesome-free", "6.2.0"), ("leaflet.markercluster", "1.5.3"),
                   ("@geoman-io/leaflet-geoman-free", "2.18.3"), ("leaflet.awesome-markers", "2.0.5")]:
        assert wanted in names
    for p in MANIFEST["packages"]:
        assert p["files"], p["name"]
        if p["source"] == "npm":
            assert p["integrity"].startswith("sha512-"), p["name"]
        else:
            assert p["source"] in ("pypi", "authored-here")
    for url, rel in MANIFEST["urls"].items():
        assert url.startswith("https://") and rel in SHA_BY_PATH, url


def test_vendored_css_references_resolve_locally():
    css = [rel for rel in SHA_BY_PATH if rel.endswith(".css")]
    assert css
    for rel in css:
        check_local_refs(f'<link rel="stylesheet" href="/static/{rel}">')


# ------------------------------------------------------------------ rendered pages


def test_offline_map_has_no_external_asset_and_all_local_ones_exist():
    html = render_html(offline_map())
    assert_offline(html)
    used = check_local_refs(html)
    assert "vendor/leaflet/1.9.4/dist/leaflet.js" in used
    assert "vendor/leaflet/1.9.4/dist/leaflet.css" in used
    assert any(u.endswith(".woff2") for u in used)  # font-awesome/glyphicon fonts are followed
    assert "http://" not in " ".join(asset_refs(html)) and "https://" not in " ".join(asset_refs(html))


def test_every_plugin_we_use_is_offline():
    m = all_plugins_map()
    html = m.get_root().render()  # OfflineMap localizes on render, no helper needed
    assert_offline(html)
    used = check_local_refs(html)
    for needle in ["leaflet.markercluster", "folium/0.20.0/templates/leaflet_heat.min.js",
                   "leaflet-timedimension", "leaflet-search", "leaflet.fullscreen",
                   "leaflet.locatecontrol", "leaflet-draw", "leaflet-geoman-free", "leaflet-minimap",
                   "gridmap-shims/glyphicons.css", "gridmap-shims/awesome-rotate.css"]:
        assert any(needle in u for u in used), needle


def test_folium_class_defaults_are_not_mutated():
    render_html(all_plugins_map())
    assert folium.Map.default_js[0][1].startswith("https://")
    assert plugins.MarkerCluster.default_js[0][1].startswith("https://")


def test_static_url_prefix_is_a_parameter():
    html = render_html(offline_map(static_url="/gridmap/static/"))
    refs = [r for r in asset_refs(html) if r.startswith("/")]
    assert refs and all(r.startswith("/gridmap/static/vendor/") for r in refs)
    check_local_refs(html, static_url="/gridmap/static")


def test_plain_folium_map_fails_the_check():
    with pytest.raises(OfflineAssetError, match="cdn.jsdelivr.net"):
        assert_offline(folium.Map(tiles=None).get_root().render())


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="https://cdn.example.com/x.js"></script>',
        "<link rel=stylesheet href=//cdn.example.com/x.css>",
        "<style>.a { background: url('http://example.com/a.png') }</style>",
        '<style>@import "https://example.com/a.css";</style>',
        '<img src="https://example.com/a.png">',
    ],
)
def test_assert_offline_catches_external_resources(snippet):
    with pytest.raises(OfflineAssetError):
        assert_offline(f"<html><head>{snippet}</head></html>")


@pytest.mark.parametrize(
    "snippet",
    [
        '<style>.a { background: url(//cdn.example.com/a.png) }</style>',
        "<div style='background-image: url(&quot;https://example.com/a.png&quot;)'></div>",
        "<style media=print>@import 'https://example.com/print.css';</style>",
    ],
)
def test_assert_offline_reads_css_wherever_a_browser_does(snippet):
    with pytest.raises(OfflineAssetError):
        assert_offline(f"<html><body>{snippet}</body></html>")


def test_assert_offline_ignores_css_words_in_text_and_script_data():
    """A user's note about url(//host) is text: it fetches nothing and may not fail the page."""
    assert_offline(
        "<p>@import url(//127.0.0.1:9/x.css)</p>"
        '<script>var popup = "@import url(//127.0.0.1:9/x.css) url(https://example.com/a.png)";</script>'
    )


def test_assert_offline_ignores_tile_templates_and_links():
    assert_offline(
        '<a href="https://example.com/">help</a><script src="/static/a.js"></script>'
        '<script>L.tileLayer("https://t{s}.example.com/{z}/{x}/{y}.png", {}).addTo(m);</script>'
        "<style>.a{background:url(data:image/png;base64,AAAA)}</style>"
    )


def test_unvendored_plugin_asset_raises():
    class Unknown(JSCSSMixin):
        default_js = [("x", "https://unpkg.com/some-plugin@1.0.0/x.js")]

    m = offline_map()
    Unknown().add_to(m)
    with pytest.raises(OfflineAssetError, match="some-plugin"):
        render_html(m)


def test_use_offline_assets_on_one_element():
    cluster = use_offline_assets(plugins.MarkerCluster())
    assert all(url.startswith("/static/vendor/") for _, url in cluster.default_js + cluster.default_css)


# ------------------------------------------------------------------ tiles


@pytest.mark.parametrize("tiles", [None, "none", "None", ""])
def test_no_tiles_by_default(tiles):
    m = offline_map(tiles=tiles)
    html = render_html(m)
    assert "L.tileLayer" not in html
    assert f"#{m.get_name()} {{ background: #eef0f3; }}" in html
    assert '"maxZoom": 19' in html  # MarkerCluster needs a maxZoom, which tiles would otherwise give
    assert "L.control.scale({imperial: false})" in html


def test_url_template_tiles():
    html = render_html(offline_map(tiles="http://10.0.0.5/tiles/{z}/{x}/{y}.png"))
    assert "http://10.0.0.5/tiles/{z}/{x}/{y}.png" in html  # tile data, not an asset: allowed
    assert '"attribution": ' + json.dumps("底图") in html
    assert not tiles_are_gcj02("http://10.0.0.5/tiles/{z}/{x}/{y}.png")


def test_gaode_tiles():
    html = render_html(offline_map(tiles="gaode"))
    assert GAODE_TILES in html.replace("\\u0026", "&")  # folium JSON-escapes "&" in the template
    assert '"subdomains": "1234"' in html
    assert tiles_are_gcj02("gaode") and tiles_are_gcj02("GAODE")
    assert not tiles_are_gcj02(None) and not tiles_are_gcj02("none")


@pytest.mark.parametrize("bad", ["OpenStreetMap", "http://example.com/no-placeholders.png"])
def test_bad_tiles_setting(bad):
    with pytest.raises(ValueError):
        offline_map(tiles=bad)
