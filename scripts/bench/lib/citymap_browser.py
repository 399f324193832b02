"""The browser half of scripts/bench/citymap: Debian's chromium driven by Playwright (as
tests/browser does: every request leaving the bench server is aborted and counted).

One page load is measured in a fresh browser context: time to the first painted grid and to
a settled map (performance.now(), from the navigation's start), bytes received (CDP
Network.loadingFinished encodedDataLength: headers and bodies as they came over the wire),
then ten pans and zooms (each awaited until the map has settled again), the JS heap (CDP
Performance.getMetrics) and the tab's memory (proportional set size of the context's
renderer processes, read from /proc), both after the first view and after the moves. A page that has not settled within ``cap`` seconds is
reported as ``> cap``.

What "painted" and "settled" mean:
* tiles: the first ``tileload`` of the grid layer whose tile drew a feature / the layer's
  ``load`` (every tile in view loaded and drawn), then one animation frame;
* GeoJSON in the page: the first grid path in Leaflet's overlay pane / the window's ``load``
  event (the page's scripts, which add every grid, have run), then one animation frame.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}

# Installed before any page script: hooks the tile layer the moment the page assigns it to
# window.gridmapTiles, and watches the overlay pane for the first grid path (GeoJSON page).
INIT_SCRIPT = """
(() => {
  const b = window.__bench = {firstPaint: null, settled: null, tiles: 0, layer: null};
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  Object.defineProperty(window, "gridmapTiles", {configurable: true, set(layer) {
    Object.defineProperty(window, "gridmapTiles", {value: layer, writable: true, configurable: true});
    b.layer = layer;
    layer.on("tileload", e => {
      b.tiles++;
      const r = layer._vectorTiles[layer._tileCoordsToKey(e.coords)];
      if (b.firstPaint === null && r && Object.keys(r._layers || {}).length) { b.firstPaint = performance.now(); }
    });
    layer.once("load", () => frame().then(() => { b.settled = performance.now(); }));
  }});
  new MutationObserver((records, observer) => {
    if (document.querySelector(".leaflet-overlay-pane path.leaflet-interactive")) {
      if (b.firstPaint === null) { b.firstPaint = performance.now(); }
      observer.disconnect();
    }
  }).observe(document, {childList: true, subtree: true});
  window.addEventListener("load", () => {
    if (!b.layer) { frame().then(() => { b.settled = performance.now(); }); }
  });
})();
"""

# Ten pans and zooms from the fitted view; each resolves when the map has settled again.
MOVES_SCRIPT = """
async () => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const layer = window.__bench.layer;
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const moves = [m => m.zoomIn(1, {animate: false}), m => m.panBy([350, 0], {animate: false}),
                 m => m.zoomIn(1, {animate: false}), m => m.panBy([0, 250], {animate: false}),
                 m => m.zoomIn(1, {animate: false}), m => m.panBy([-350, 0], {animate: false}),
                 m => m.zoomOut(1, {animate: false}), m => m.panBy([0, -250], {animate: false}),
                 m => m.zoomOut(1, {animate: false}), m => m.zoomOut(1, {animate: false})];
  const times = [];
  for (const move of moves) {
    const start = performance.now();
    const loaded = layer ? new Promise(r => layer.once("load", r)) : null;
    move(map);
    await frame();
    if (layer && !layer._noTilesToLoad()) { await loaded; }
    await frame();
    times.push(performance.now() - start);
  }
  return times;
}
"""


def launch(playwright):
    executable = os.environ.get("GRIDMAP_CHROMIUM") or "/usr/bin/chromium"
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def renderer_pss_mb() -> float | None:
    """Proportional set size (MB) of the renderer processes started under this process."""
    tree, stack, total, found = _children(), [os.getpid()], 0, False
    while stack:
        pid = stack.pop()
        stack.extend(tree.get(pid, []))
        try:
            if b"--type=renderer" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    found = True
        except OSError:
            continue
    return total / 1024 if found else None


def measure_page(browser, base: str, username: str, password: str, path: str, cap: float,
                 moves: bool = True) -> dict:
    """Log in (not measured), then load ``path`` once and measure it; see the module doc."""
    origin = urlparse(base)
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
    blocked: list[str] = []

    def route(r):
        url = urlparse(r.request.url)
        if url.scheme in ("data", "blob") or (url.hostname, url.port) == (origin.hostname, origin.port):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/login?next=/healthz")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/healthz")
    started = time.perf_counter()
    html = context.request.get(base + path, timeout=cap * 1000)
    out: dict = {"html_bytes": len(html.body()), "html_seconds": time.perf_counter() - started, "cap": cap}

    page.add_init_script(INIT_SCRIPT)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Performance.enable")
    received = {"bytes": 0}
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__("bytes", received["bytes"] + e["encodedDataLength"]))
    started = time.perf_counter()
    try:
        page.goto(base + path, wait_until="commit", timeout=cap * 1000)
        left = max(1.0, cap - (time.perf_counter() - started))
        page.wait_for_function("() => window.__bench && window.__bench.settled !== null", timeout=left * 1000,
                               polling=100)
    except Exception as exc:  # playwright's TimeoutError: the page did not settle within the cap
        if "Timeout" not in type(exc).__name__:
            raise
        pss = renderer_pss_mb()  # at the cap
        out.update(settled=None, first_paint=None, bytes=received["bytes"], tab_pss_mb=pss, first_tab_pss_mb=pss,
                   blocked=len(blocked), errors=errors)
        context.close()
        return out
    bench = page.evaluate("() => ({firstPaint: window.__bench.firstPaint, settled: window.__bench.settled,"
                          " tiles: window.__bench.tiles})")
    page.wait_for_timeout(300)  # late responses of the first view (the basemap's blocked requests)
    out.update(first_paint=bench["firstPaint"] / 1000 if bench["firstPaint"] is not None else None,
               settled=bench["settled"] / 1000, tiles=bench["tiles"], bytes=received["bytes"])
    heap = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}.get("JSHeapUsedSize", 0)
    out.update(first_js_heap_mb=heap / 2 ** 20, first_tab_pss_mb=renderer_pss_mb())
    if moves:
        received["bytes"] = 0
        times = page.evaluate(MOVES_SCRIPT)
        out.update(moves_seconds=sum(times) / 1000, moves_max=max(times) / 1000, moves_bytes=received["bytes"])
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    out.update(js_heap_mb=metrics.get("JSHeapUsedSize", 0) / 2 ** 20, tab_pss_mb=renderer_pss_mb(),
               blocked=len(blocked), errors=errors)
    context.close()
    return out
