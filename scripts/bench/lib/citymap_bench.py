"""City-scale maps benchmark (issue 16): the whole city's overview drawn from vector tiles against
the same page built the old way (every grid as GeoJSON in the page), in Chromium, in one run.

Data: the synthetic city of scripts/bench/assign (lib/citydata.py, ``--grids`` grids around
Linyi) loaded into ``gridmap_bench_citymap`` (fresh schema each run), households spread over the
grids by SQL (``--households``), one supervisor of the district. The production server (``flask
serve``) runs on ``--port``, once with GRIDMAP_TILE_THRESHOLD=0 (tiles) and once with it above the
grid count (GeoJSON in the page).

Printed: the browser figures of both pages (lib/citymap_browser.py), the tile statement's server
time cold (a miss of the server's tile cache) and warm (median of ``--repeat`` hits) for every tile of
the city at the zooms a whole-city view and its first zooms ask, against ``SELECT count(*)`` of
the grids in the same tile (same connection, same run), and, unless ``--quick``, the crossover:
the same two pages over cities of ``--sizes`` grids. Goals (issue 16) beside each figure.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    ROOT,
    bench_url,
    ensure_database,
    fresh_schema,
    load_city,
    log,
    machine_info,
    percentiles,
    raw_connect,
    start_server,
    stop_server,
    verdict,
    write_json,
)
from citydata import EXTENT, make_city
from citymap_browser import launch, measure_page

BENCH_DB = "gridmap_bench_citymap"
USER, PASSWORD = "bench-sup", "bench-password-1"
GOALS = {"first_paint": 2.0, "settled": 4.0, "first_view_mb": 2.0, "warm_p95_ms": 50.0, "cold_p95_ms": 250.0,
         "bytes_ratio": 20.0, "tab_mb": 300.0}


def prepare(url: str, grids: int, households: int, seed: int) -> dict:
    """Fresh schema, the city, its households, the supervisor; returns the data's shape."""
    ensure_database(url)
    fresh_schema(url)
    city = make_city(grids, seed)
    load_city(url, city)
    conn = raw_connect(url)
    with conn.cursor() as cur:
        # Each grid gets a random share (0-2x the mean) of the households, at random points inside it.
        cur.execute("""
            INSERT INTO household (code, geom, grid_id)
            SELECT 'H' || row_number() OVER (), p.geom, p.id FROM (
                SELECT (ST_Dump(ST_GeneratePoints(g.geom, n.k, %(seed)s))).geom, g.id
                  FROM grid g, LATERAL (SELECT greatest(1, round(random() * 2 * %(mean)s + 0 * g.id))::int AS k) n
                 WHERE g.id > 0 AND %(mean)s > 0) p""", {"seed": seed, "mean": households / grids})
        cur.execute("VACUUM ANALYZE household")
        cur.execute("SELECT count(*), (SELECT sum(ST_NPoints(geom)) FROM grid) FROM household")
        n_households, vertices = cur.fetchone()
    conn.close()
    from gridmap import create_app
    from gridmap.auth.service import create_user
    from gridmap.config import Settings

    app = create_app(Settings(database_url=url, secret_key="bench"))
    session = app.extensions["gridmap.db"].session()
    create_user(session, USER, PASSWORD, "supervisor", city.district[0], "bench")
    session.commit()
    session.close()
    app.extensions["gridmap.db"].engine.dispose()
    return {"grids": grids, "households": int(n_households), "vertices": int(vertices), "district": city.district[0]}


def both_pages(url: str, args, shape: dict, moves: bool = True) -> dict:
    """The overview from tiles and the overview as GeoJSON, each in its own browser."""
    from playwright.sync_api import sync_playwright

    path, out = f"/maps/area/{shape['district']}", {}
    for name, threshold in (("tiles", 0), ("geojson", shape["grids"] + 1)):
        server = start_server(url, args.port, env={"GRIDMAP_TILE_THRESHOLD": str(threshold)})
        try:
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    out[name] = measure_page(browser, f"http://127.0.0.1:{args.port}", USER, PASSWORD, path,
                                             args.cap, moves)
                finally:
                    browser.close()
        finally:
            stop_server(server)
        log(f"{shape['grids']} grids, {name}: {out[name]}")
    return out


def city_tiles(zooms: range) -> list[tuple[int, int, int]]:
    """Every z/x/y tile over the city's extent at ``zooms``."""
    x0, y0, x1, y1 = EXTENT

    def tx(lon: float, z: int) -> int:
        return int((lon + 180) / 360 * 2 ** z)

    def ty(lat: float, z: int) -> int:
        r = math.radians(lat)
        return int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * 2 ** z)

    return [(z, x, y) for z in zooms for x in range(tx(x0, z), tx(x1, z) + 1) for y in range(ty(y1, z), ty(y0, z) + 1)]


COUNT_SQL = """SELECT count(*) FROM grid g
 WHERE g.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)
   AND ST_Intersects(g.geom, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326))"""


def tile_times(url: str, zooms: range, repeat: int) -> dict:
    """Server time of the tile function (gridmap.tiles.service.tile, the supervisor's scope) per
    tile, on one pooled connection as the server's pool keeps them: cold = the first call, a miss
    of the server's tile cache (emptied first), so the tile is built from the tables; warm = median
    of ``repeat`` later calls (cache hits); count = ``SELECT count(*)`` of the grids in the same
    tile, same connection. ``connect``: what a new connection's first statement costs (the server's
    pool rarely opens one), timed apart."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from gridmap.auth.scope import Scope
    from gridmap.db import sqlalchemy_url
    from gridmap.tiles.service import TileRequest, tile

    engine = create_engine(sqlalchemy_url(url), pool_size=1, max_overflow=0)
    connect = []
    for _ in range(10):
        engine.dispose()
        t0 = time.perf_counter()
        with Session(engine) as s:
            s.execute(text("SELECT 1")).scalar_one()
        connect.append(time.perf_counter() - t0)
    with Session(engine) as s:
        district = s.execute(text("SELECT code FROM admin_unit WHERE level = 'district'")).scalar_one()
        scope = Scope(prefix=district, role="supervisor")
        tile(s, scope, TileRequest(layer="grids", z=max(0, zooms.start - 1), x=0, y=0))  # the connection's first tile
        s.execute(text("TRUNCATE tile_cache"))
        s.commit()
    rows = []
    for z, x, y in city_tiles(zooms):
        req = TileRequest(layer="grids", z=z, x=x, y=y)
        with Session(engine) as s:
            t0 = time.perf_counter()
            first = tile(s, scope, req)
            cold = time.perf_counter() - t0
            warm, count, notmod = [], [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                tile(s, scope, req)
                warm.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                s.execute(text(COUNT_SQL), {"z": z, "x": x, "y": y}).scalar_one()
                s.rollback()
                count.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                tile(s, scope, req, first.etag)
                notmod.append(time.perf_counter() - t0)
        rows.append({"z": z, "x": x, "y": y, "features": first.features, "bytes": len(first.body or b""),
                     "cold": cold, "warm": sorted(warm)[len(warm) // 2], "count": sorted(count)[len(count) // 2],
                     "not_modified": sorted(notmod)[len(notmod) // 2]})
    with Session(engine) as s:  # the pages are measured with the server's cache empty, as after a change
        s.execute(text("TRUNCATE tile_cache"))
        s.commit()
    engine.dispose()
    return {"tiles": rows, "connect": connect}


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:,.0f} ms"


def secs(value: float | None, cap: float) -> str:
    return f"> {cap:.0f} s (cap)" if value is None else f"{value:.2f} s"


def report_pages(pages: dict) -> list[str]:
    t, g = pages["tiles"], pages["geojson"]
    mb = 2 ** 20
    lines = [f"{'':30}{'tiles':>16}{'GeoJSON page':>20}   goal (tiles)"]

    def line(label: str, a: str, b: str, goal: str = "") -> None:
        lines.append(f"{label:30}{a:>16}{b:>20}   {goal}")

    line("HTML of the page", f"{t['html_bytes'] / mb:.2f} MB", f"{g['html_bytes'] / mb:.2f} MB")
    line("server time of the HTML", secs(t["html_seconds"], t["cap"]), secs(g["html_seconds"], g["cap"]))
    line("first painted grid", secs(t["first_paint"], t["cap"]), secs(g["first_paint"], g["cap"]),
         f"≤ {GOALS['first_paint']:.0f} s: {verdict(t['first_paint'] is not None and t['first_paint'] <= GOALS['first_paint'])}")
    line("settled map", secs(t["settled"], t["cap"]), secs(g["settled"], g["cap"]),
         f"≤ {GOALS['settled']:.0f} s: {verdict(t['settled'] is not None and t['settled'] <= GOALS['settled'])}")
    tb, gb = t["bytes"], max(g["bytes"], g["html_bytes"])
    line("bytes, first view", f"{tb / mb:.2f} MB", f"{gb / mb:.2f} MB",
         f"≤ {GOALS['first_view_mb']:.0f} MB: {verdict(tb <= GOALS['first_view_mb'] * mb)}")
    ratio = gb / tb if tb else float("inf")
    line("  GeoJSON ÷ tiles", f"{ratio:.1f}×", "", f"≥ {GOALS['bytes_ratio']:.0f}×: {verdict(ratio >= GOALS['bytes_ratio'])}")
    if "moves_seconds" in t:
        line("ten pans and zooms", f"{t['moves_seconds']:.2f} s", secs(g.get("moves_seconds"), g["cap"])
             if g["settled"] is not None else "—", f"slowest move {t['moves_max']:.2f} s")
        line("  bytes of the moves", f"{t['moves_bytes'] / mb:.2f} MB",
             f"{g['moves_bytes'] / mb:.2f} MB" if "moves_bytes" in g else "—")
    def mem(page: dict, key: str) -> str:
        return f"{page[key]:.0f} MB" if page.get(key) else "—"

    line("JS heap, first view", mem(t, "first_js_heap_mb"), mem(g, "first_js_heap_mb"))
    first = t.get("first_tab_pss_mb")
    line("tab memory, first view", mem(t, "first_tab_pss_mb"), mem(g, "first_tab_pss_mb"),
         f"≤ {GOALS['tab_mb']:.0f} MB: {verdict(first is not None and first <= GOALS['tab_mb'])}")
    if "moves_seconds" in t:
        tab = t.get("tab_pss_mb")
        line("JS heap, after the moves", mem(t, "js_heap_mb"), mem(g, "js_heap_mb"))
        line("tab memory, after the moves", mem(t, "tab_pss_mb"), mem(g, "tab_pss_mb"),
             f"≤ {GOALS['tab_mb']:.0f} MB: {verdict(tab is not None and tab <= GOALS['tab_mb'])}")
    line("blocked outside requests", str(t["blocked"]), str(g["blocked"]))
    return lines


def report_tiles(result: dict) -> list[str]:
    rows = result["tiles"]
    lines = [(f"{'zooms':10}{'tiles':>6}{'grids/tile':>12}{'kB p95':>8}{'cold p50/p95':>18}{'warm p50/p95':>18}"
              f"{'count p50/p95':>18}{'warm/count':>12}{'304 p50':>10}")]

    def summary(label: str, sel: list[dict]) -> None:
        def p(key: str) -> dict:
            return percentiles([r[key] for r in sel], (50, 95))
        cold, warm, count, notmod = p("cold"), p("warm"), p("count"), p("not_modified")
        kb = percentiles([r["bytes"] / 1024 for r in sel], (95,))["p95"]
        feats = max(r["features"] for r in sel)
        lines.append(f"{label:10}{len(sel):>6}{feats:>12,}{kb:>8.0f}{ms(cold['p50']) + ' / ' + ms(cold['p95']):>18}"
                     f"{ms(warm['p50']) + ' / ' + ms(warm['p95']):>18}{ms(count['p50']) + ' / ' + ms(count['p95']):>18}"
                     f"{warm['p95'] / count['p95']:>11.1f}×{ms(notmod['p50']):>10}")

    for z in sorted({r["z"] for r in rows}):
        summary(f"z{z}", [r for r in rows if r["z"] == z])
    summary("all", rows)
    warm95 = percentiles([r["warm"] for r in rows], (95,))["p95"] * 1000
    cold95 = percentiles([r["cold"] for r in rows], (95,))["p95"] * 1000
    lines.append(f"tile p95 warm {warm95:.0f} ms (goal ≤ {GOALS['warm_p95_ms']:.0f} ms: "
                 f"{verdict(warm95 <= GOALS['warm_p95_ms'])}), cold {cold95:.0f} ms (goal ≤ {GOALS['cold_p95_ms']:.0f} ms: "
                 f"{verdict(cold95 <= GOALS['cold_p95_ms'])}); 'grids/tile' is the most in one tile")
    if result.get("connect"):
        conn = percentiles(result["connect"], (50, 95))
        lines.append(f"cold = a miss of the server's tile cache on a pooled connection; a new connection's first "
                     f"statement costs {ms(conn['p50'])} / {ms(conn['p95'])} (p50/p95) more")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grids", type=int, default=13000)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--sizes", default="250,500,1000,2000,4000", help="grid counts of the crossover")
    parser.add_argument("--cap", type=float, default=90.0, help="seconds a page may take to settle")
    parser.add_argument("--repeat", type=int, default=3, help="warm calls per tile (median)")
    parser.add_argument("--zooms", default="10-14", help="tile zooms timed, FROM-TO")
    parser.add_argument("--port", type=int, default=5102)
    parser.add_argument("--database", default=BENCH_DB, help="bench database on the DATABASE_URL server (fresh)")
    parser.add_argument("--quick", action="store_true", help="no crossover, no pans and zooms, tiles at 11-12 once")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.zooms = 1, "11-12"
    lo, hi = (int(v) for v in args.zooms.split("-"))
    url = bench_url(os.environ["DATABASE_URL"], args.database)

    log(f"loading a city of {args.grids:,} grids")
    shape = prepare(url, args.grids, args.households, args.seed)
    log(f"timing tiles at zooms {lo}-{hi}")
    tiles = tile_times(url, range(lo, hi + 1), args.repeat)
    log("the overview in chromium, tiles then GeoJSON")
    pages = both_pages(url, args, shape, moves=not args.quick)
    crossover = []
    if not args.quick:
        for n in (int(v) for v in args.sizes.split(",") if v):
            small = prepare(url, n, round(args.households * n / args.grids), args.seed)
            crossover.append({"shape": small, **both_pages(url, args, small, moves=False)})

    out = [f"city: {shape['grids']:,} grids, {shape['vertices']:,} vertices, {shape['households']:,} households",
           "", "whole-city overview (/maps/area/<district>, 1280×800)", *report_pages(pages),
           "", ("tile server time (gridmap.tiles.service.tile, supervisor's scope) against SELECT count(*) of the "
                "grids in the same tile"), *report_tiles(tiles)]
    if crossover:
        out += ["", "crossover: settled map (first view bytes), tiles vs GeoJSON in the page",
                f"{'grids':>8}{'vertices':>12}{'tiles':>24}{'GeoJSON':>26}   faster"]
        for c in crossover + [{"shape": shape, **pages}]:
            t, g = c["tiles"], c["geojson"]
            faster = "tiles" if g["settled"] is None or (t["settled"] or 1e9) < g["settled"] else "GeoJSON"
            tiled = f"{secs(t['settled'], args.cap)} ({t['bytes'] / 2 ** 20:.2f} MB)"
            inpage = f"{secs(g['settled'], args.cap)} ({max(g['bytes'], g['html_bytes']) / 2 ** 20:.2f} MB)"
            out.append(f"{c['shape']['grids']:>8,}{c['shape']['vertices']:>12,}{tiled:>24}{inpage:>26}"
                       f"   {faster}")
    info = machine_info()
    out += ["", f"load average {info.get('loadavg_1_5_15')} on {info['cpus']} cpus"]
    print("\n".join(out))
    path = write_json("citymap", {"args": vars(args), "shape": shape, "pages": pages, "tiles": tiles,
                                  "crossover": crossover, "machine": info})
    log(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
