"""Screenshots of each demo role's main pages for the README (scripts/screenshots).

Serves the app (DATABASE_URL, the demo district already loaded) on a free port of
127.0.0.1 in this process, logs in as each demo login through the login form in
Chromium driven by Playwright (the one that prints: GRIDMAP_CHROMIUM or the first on
PATH), opens each page at a phone's 390×844 and an office screen's 1366×768, waits for
the map to settle and saves docs/screenshots/<role>-<page>-<size>.png, reduced to 256
colours. Every request that leaves 127.0.0.1 is aborted (the pages work offline).

    python scripts/lib/screenshots.py [--out DIR] [--only ROLE,...]
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image
from playwright.sync_api import sync_playwright
from sqlalchemy import text
from werkzeug.serving import make_server

from gridmap import create_app
from gridmap.clock import today
from gridmap.demo.district import DISTRICT_CODE, FEATURED_COMMUNITY, FEATURED_GRID
from gridmap.demo.load import DEMO_USERS
from gridmap.printing.chromium import chromium_path

LAST_MONTH = (today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")  # a whole month: red, yellow, green
SIZES = {"phone": {"width": 390, "height": 844}, "office": {"width": 1366, "height": 768}}
# role (demo login) -> (page name, path), in README order.
PAGES: dict[str, list[tuple[str, str]]] = {
    "gridworker": [("minqing", f"/maps/grid/{FEATURED_GRID}"), ("patrol", "/patrol")],
    "partymember": [("minqing", f"/maps/grid/{FEATURED_GRID}")],
    "district": [("hazards", "/maps/hazards"), ("patrol", "/maps/patrol"), ("safety", f"/reports/safety?month={LAST_MONTH}"),
                 ("overview", f"/maps/area/{DISTRICT_CODE}")],
    "planner": [("planner", f"/planner/{FEATURED_COMMUNITY}")],
    "admin": [("overview", "/maps/area/all")],
}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
SETTLE_MS = 800  # after the network is idle: Leaflet's fade and zoom animations


def serve(app):
    """The app on a free port of 127.0.0.1, in a thread; returns (base URL, server)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def grid_point(app) -> dict:
    """A point inside the featured grid: where the grid worker's phone says it is."""
    with app.extensions["gridmap.db"].session() as session:
        lon, lat = session.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid WHERE code = :c) s"),
            {"c": FEATURED_GRID}).one()
    return {"longitude": lon, "latitude": lat, "accuracy": 8}


class Shooter:
    def __init__(self, browser, base: str, out: Path, where: dict):
        self.browser, self.base, self.out, self.where = browser, base, out, where
        self.blocked: list[str] = []
        self.problems: list[str] = []

    def _context(self, size: str, state=None):
        options = {"viewport": SIZES[size], "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
                   "device_scale_factor": 1, "geolocation": self.where, "permissions": ["geolocation"],
                   "service_workers": "block"}
        if size == "phone":
            options.update(is_mobile=True, has_touch=True)
        context = self.browser.new_context(storage_state=state, **options)
        context.route("**/*", self._route)
        return context

    def _route(self, route):
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob") or route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _log_in(self, context, username: str, password: str) -> None:
        page = context.new_page()
        page.goto(f"{self.base}/login?next=/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        if urlparse(page.url).path == "/login":
            raise SystemExit(f"error: cannot log in as {username} (load the demo: scripts/gridmap demo-data)")
        page.close()

    def role(self, username: str, password: str, pages: list[tuple[str, str]]) -> list[Path]:
        saved, state = [], None
        for size in SIZES:
            context = self._context(size, state)
            if state is None:
                self._log_in(context, username, password)
                state = context.storage_state()
            for name, path in pages:
                saved.append(self._shoot(context, path, self.out / f"{username}-{name}-{size}.png"))
            context.close()
        return saved

    def _shoot(self, context, path: str, target: Path) -> Path:
        page = context.new_page()
        failed: list[str] = []
        page.on("pageerror", lambda exc: failed.append(str(exc)))
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        response = page.goto(self.base + path, wait_until="networkidle")
        if response is None or response.status != 200:
            raise SystemExit(f"error: {path} answered {response.status if response else 'nothing'}")
        if page.locator(".leaflet-container").count():
            page.wait_for_selector(".leaflet-container .leaflet-pane", state="attached")
        page.wait_for_timeout(SETTLE_MS)
        page.wait_for_load_state("networkidle")
        png = page.screenshot(animations="disabled", caret="hide")
        page.close()
        self.problems += [f"{target.name}: {p}" for p in failed]
        target.write_bytes(small_png(png))
        return target


def small_png(png: bytes) -> bytes:
    """The screenshot in 256 colours (a palette PNG): a quarter of the size, same look."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description="README screenshots of each demo role's main pages")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", default="", help="comma-separated demo logins (default: all)")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    unknown = only - set(PAGES)
    if unknown:
        parser.error(f"no screenshots for {', '.join(sorted(unknown))}; known: {', '.join(PAGES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    logins = {u.username: u.password for u in DEMO_USERS}
    started = time.monotonic()
    app = create_app()
    chromium = chromium_path(app.config["GRIDMAP"].chromium)
    if chromium is None:
        raise SystemExit("error: no chromium on PATH (set GRIDMAP_CHROMIUM)")
    base, server = serve(app)
    saved: list[Path] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium,
                headless=True, args=CHROMIUM_ARGS)
            shooter = Shooter(browser, base, args.out, grid_point(app))
            for username, pages in PAGES.items():
                if not only or username in only:
                    saved += shooter.role(username, logins[username], pages)
                    print(f"==> {username}: {len(pages) * len(SIZES)} screenshots", file=sys.stderr)
            browser.close()
    finally:
        server.shutdown()
    total = sum(p.stat().st_size for p in saved)
    for path in saved:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size // 1024} kB")
    print(f"{len(saved)} screenshots, {total / 1e6:.2f} MB, {time.monotonic() - started:.0f} s")
    for problem in shooter.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if shooter.blocked:
        print(f"warning: {len(shooter.blocked)} outside requests blocked, e.g. {shooter.blocked[0]}", file=sys.stderr)
    return 1 if shooter.problems else 0


if __name__ == "__main__":
    sys.exit(main())
