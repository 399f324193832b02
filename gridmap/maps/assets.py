"""The one place that makes folium maps work without internet.

Government intranets cannot reach a CDN, so every ``<script>``/``<link>`` that
folium or a folium plugin would point at jsDelivr/cdnjs/unpkg is rewritten to our
copy under ``static/vendor/`` (put there by ``scripts/vendor-assets``, which also
writes ``static/vendor/MANIFEST.json`` with the original-URL → file map used here).

Use::

    m = offline_map(tiles=settings.tiles)      # an OfflineMap (a folium.Map)
    ... add layers and plugins to m ...
    html = render_html(m)                      # rendered, and checked by assert_offline

``OfflineMap.render`` localizes the whole figure before and after rendering, so
``m.get_root().render()`` or ``m.save()`` is offline too; ``render_html`` adds the
check. An asset with no vendored copy raises ``OfflineAssetError`` rather than
silently loading from the internet: add it to scripts/vendor-assets and re-run.

Tile URLs are data (configured per deployment), not assets: ``assert_offline``
checks script/link/img/iframe URLs and CSS ``url()``/``@import``, not strings
inside the JavaScript (where a tile layer's URL template lives).
"""

from __future__ import annotations

import html as _html
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import folium
from branca.element import CssLink, Element, JavascriptLink, MacroElement
from folium.template import Template

from gridmap.config import GAODE_SUBDOMAINS, GAODE_TILES, STATIC_DIR, tile_source
from gridmap.labels import label

MANIFEST_PATH = STATIC_DIR / "vendor" / "MANIFEST.json"
DEFAULT_STATIC_URL = "/static"

# Background of a map without a tile layer: light grey, so grid boundaries read well.
NO_TILES_BACKGROUND = "#eef0f3"
NO_TILES_MAX_ZOOM = 19

_EXTERNAL = re.compile(r"^\s*(?:(?:https?|ftp|wss?):)?//", re.IGNORECASE)


class OfflineAssetError(RuntimeError):
    """A map page would load something from outside our own server."""


# --------------------------------------------------------------------------- manifest


@lru_cache(maxsize=4)
def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OfflineAssetError(f"{path} is missing: run scripts/vendor-assets") from None


def _prefix(static_url: str) -> str:
    return static_url.rstrip("/")


def url_map(static_url: str = DEFAULT_STATIC_URL) -> dict[str, str]:
    """folium's original CDN URL → our URL under ``static_url``."""
    prefix = _prefix(static_url)
    return {orig: f"{prefix}/{path}" for orig, path in load_manifest()["urls"].items()}


def is_external(url: str) -> bool:
    """True for http(s)/ftp/ws URLs and protocol-relative ``//host/...`` URLs."""
    return bool(_EXTERNAL.match(url))


def offline_url(url: str, static_url: str = DEFAULT_STATIC_URL, *, used_by: str = "") -> str:
    """Our URL for `url`; local URLs pass through; an unknown external URL raises."""
    if not is_external(url):
        return url
    local = url_map(static_url).get(url.strip())
    if local is None:
        who = f" (used by {used_by})" if used_by else ""
        raise OfflineAssetError(
            f"no vendored copy of {url}{who}: add it to scripts/vendor-assets and re-run it"
        )
    return local


# --------------------------------------------------------------------------- localizing


def _walk(element: Element) -> Iterator[Element]:
    seen: set[int] = set()
    stack = [element]
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        yield el
        stack.extend(getattr(el, "_children", {}).values())


def use_offline_assets(element: Element, static_url: str = DEFAULT_STATIC_URL) -> Element:
    """Point `element` and everything under it at our static copies.

    Rewrites each element's ``default_js``/``default_css`` (as new per-instance
    lists: folium's class-level lists are never mutated) and the URL of any
    ``JavascriptLink``/``CssLink`` already in the tree (e.g. a figure's header
    after a render). Raises ``OfflineAssetError`` for an asset we do not have.
    """
    for el in _walk(element):
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if isinstance(links, list) and links:
                setattr(
                    el,
                    attr,
                    [(name, offline_url(url, static_url, used_by=type(el).__name__)) for name, url in links],
                )
        if isinstance(el, (JavascriptLink, CssLink)):
            el.url = offline_url(el.url, static_url, used_by=type(el).__name__)
    return element


def localize(m: Element, static_url: str = DEFAULT_STATIC_URL) -> Element:
    """`use_offline_assets` on the whole figure that `m` belongs to."""
    use_offline_assets(m.get_root(), static_url)
    return m


class OfflineMap(folium.Map):
    """A folium.Map whose rendering only ever references our own static files."""

    def __init__(self, *args: Any, static_url: str = DEFAULT_STATIC_URL, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.static_url = _prefix(static_url)
        use_offline_assets(self, self.static_url)

    def render(self, **kwargs: Any) -> None:
        root = self.get_root()
        # Before: every plugin added so far gets local default_js/default_css.
        use_offline_assets(root, self.static_url)
        super().render(**kwargs)
        # After: links that elements created during rendering put into the header
        # (the figure renders its header last, so this still takes effect).
        if hasattr(root, "header"):
            use_offline_assets(root.header, self.static_url)


# --------------------------------------------------------------------------- tiles


def make_tile_layer(tiles: str | None, *, name: str | None = None) -> folium.TileLayer | None:
    """The tile layer for a tiles setting (None for "none"); also usable for MiniMap."""
    value = tile_source(tiles)
    name = name or label("basemap", "map_layer")
    if value is None:
        return None
    if value == "gaode":
        return folium.TileLayer(
            tiles=GAODE_TILES,
            attr=label("gaode", "map_layer"),
            name=name,
            subdomains=GAODE_SUBDOMAINS,
            max_zoom=18,
        )
    return folium.TileLayer(tiles=value, attr=label("basemap", "map_layer"), name=name, max_zoom=19)


class _MetricScale(MacroElement):
    """A scale bar in metres only (folium's control_scale adds miles too)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}"""
    )


def offline_map(tiles: str | None = None, *, static_url: str = DEFAULT_STATIC_URL, **kwargs: Any) -> OfflineMap:
    """A folium map whose JS/CSS come from ``static_url``/vendor/...

    `tiles`: None / "none" (default: no tile layer, plain light-grey background),
    a WGS-84 tile URL template (e.g. an intranet tile server), or "gaode" (GCJ-02;
    the caller shifts overlays, see gridmap.config.tiles_are_gcj02). Other keyword arguments go
    to ``folium.Map`` (location is (lat, lon)); unless `control_scale` is given, the
    map gets a metric-only scale bar.
    """
    layer = make_tile_layer(tiles)
    metric_scale = "control_scale" not in kwargs
    m = OfflineMap(tiles=None, static_url=static_url, **kwargs)
    if metric_scale:
        _MetricScale().add_to(m)
    if layer is None:
        # Without a tile layer Leaflet has no maxZoom, which MarkerCluster (and others) need.
        m.options.setdefault("max_zoom", NO_TILES_MAX_ZOOM)
        m.get_root().header.add_child(
            Element(f"<style>#{m.get_name()} {{ background: {NO_TILES_BACKGROUND}; }}</style>"),
            name="gridmap_no_tiles_background",
        )
    else:
        layer.add_to(m)
    return m


# --------------------------------------------------------------------------- checking

_TAG_URL = re.compile(
    r"<(script|link|img|iframe|source|embed|video|audio)\b[^>]*?\b(src|href)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"url\(\s*(\"[^\"]*\"|'[^']*'|[^)]*?)\s*\)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+(\"[^\"]*\"|'[^']*')", re.IGNORECASE)
# CSS is only where a browser reads it: <style> elements and style attributes. The same words
# in a page's text or a script's data (a user's note "url(//host)") fetch nothing.
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=\s*(\"[^\"]*\"|'[^']*')", re.IGNORECASE)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return _html.unescape(value).strip()


def asset_refs(html: str) -> list[str]:
    """Every URL the page would fetch as a resource: script/link/img/iframe/... src or href, and
    CSS url(...) and @import in style elements and attributes. Strings inside JavaScript (tile
    URL templates) and the page's text are not included."""
    refs = [_unquote(m.group(3)) for m in _TAG_URL.finditer(html)]
    css = [m.group(1) for m in _STYLE_ELEMENT.finditer(html)]
    css += [_html.unescape(m.group(1)) for m in _STYLE_ATTRIBUTE.finditer(html)]
    for sheet in css:
        refs += [_unquote(m.group(1)) for m in _CSS_URL.finditer(sheet)]
        refs += [_unquote(m.group(1)) for m in _CSS_IMPORT.finditer(sheet)]
    return refs


def assert_offline(html: str) -> None:
    """Raise OfflineAssetError if the page references any http(s) or //host resource."""
    external = sorted({ref for ref in asset_refs(html) if is_external(ref)})
    if external:
        raise OfflineAssetError("page would load from outside our server: " + ", ".join(external))


def render_html(m: folium.Map, *, check: bool = True) -> str:
    """The full HTML page of `m` (localized), checked with `assert_offline` unless check=False."""
    static_url = getattr(m, "static_url", DEFAULT_STATIC_URL)
    localize(m, static_url)
    page = m.get_root().render()
    if check:
        assert_offline(page)
    return page
