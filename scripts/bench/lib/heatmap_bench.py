"""Heatmap benchmark: N hazards over a synthetic city, the city-wide heatmap at several
zooms (cold: first query on a fresh connection; warm: median of repeats) with its
payload size, against ``SELECT count(*)`` over the same bbox in the same run.

    scripts/bench/heatmap [--hazards N] [--grids N] [--repeat N] [--rounds N] [--seed N]

Goals (issue 6): cold ≤ 1.5 s; payload ≤ 1 MB at any zoom; with pre-aggregation ≤ 150 ms.
Paths: "hazards" (counting, ST_SnapToGrid), "daily" (hazard_daily_cell), "rollup" (the zoom
pyramid hazard_heat_rollup, exact; the default). The load is COPYed with the rollup triggers
off and both tables rebuilt afterwards (timed). The rollup is measured for the whole time, one
ISO week (the slider), one month and an arbitrary range with partial days at both ends.
The machine may be shared: every round prints the 1-minute load average, and the scores are
ratios against SELECT count(*) over the same bbox measured in the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import shapely
from benchlib import (
    ROOT,
    bench_url,
    checkpoint,
    copy_rows,
    ensure_database,
    fresh_schema,
    load_city,
    log,
    raw_connect,
    write_json,
)
from citydata import CENTRE, EXTENT, make_city
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.db import sqlalchemy_url
from gridmap.hazards.heatmap import heatmap_cells, refresh_daily, refresh_rollup

CATEGORIES = ["public_order", "fire", "work_safety", "sanitation", "dispute", "facility", "illegal_building",
              "street_vending", "noise", "other"]
STATUSES = ["reported", "accepted", "assigned", "in_progress", "feedback", "verified", "closed"]


def hazard_points(n: int, seed: int) -> np.ndarray:
    """Clustered points (hot spots, denser toward the centre) inside the city's extent."""
    rng = np.random.default_rng(seed + 7)
    spots = np.column_stack([rng.normal(CENTRE[0], 0.06, 400), rng.normal(CENTRE[1], 0.05, 400)])
    which = rng.integers(0, len(spots), n)
    pts = spots[which] + rng.normal(0, 0.004, (n, 2))
    pts[:, 0] = np.clip(pts[:, 0], EXTENT[0] + 1e-6, EXTENT[2] - 1e-6)
    pts[:, 1] = np.clip(pts[:, 1], EXTENT[1] + 1e-6, EXTENT[3] - 1e-6)
    return pts


def load_hazards(url: str, city, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed + 11)
    pts = hazard_points(n, seed)
    geoms = shapely.points(pts)
    tree = shapely.STRtree(city.polygons)
    pairs = tree.query(geoms, predicate="intersects")
    grid_of = np.full(n, -1)
    grid_of[pairs[0][::-1]] = pairs[1][::-1]  # first match wins for border points
    keep = grid_of >= 0
    pts, grid_of = pts[keep], grid_of[keep]
    m = len(pts)
    wkb = shapely.to_wkb(shapely.set_srid(shapely.points(pts), 4326), hex=True, include_srid=True)
    codes = city.grids.code.to_numpy()[grid_of]
    grid_ids = city.grids.id.to_numpy()[grid_of]
    days = rng.integers(0, 365, m)
    created = np.datetime64("2026-01-01T00:00:00") + days.astype("timedelta64[D]") + rng.integers(
        0, 86400, m).astype("timedelta64[s]")
    resolve = created + np.timedelta64(3, "D")
    cats = np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), m)]
    statuses = np.array(STATUSES)[rng.integers(0, len(STATUSES), m)]
    started = time.perf_counter()
    conn = raw_connect(url)
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        # Bulk load: the rollup triggers are off, the tables are rebuilt afterwards (refresh).
        cur.execute("ALTER TABLE hazard DISABLE TRIGGER hazard_heat_rollup_insert")
        chunk = 200_000
        for lo in range(0, m, chunk):
            hi = min(m, lo + chunk)
            rows = [(i + 1, f"HZ-{str(created[i])[:10].replace('-', '')}-{i + 1:06d}", cats[i], "normal",
                     wkb[i], int(grid_ids[i]), 1, codes[i], statuses[i], f"{created[i]}+00",
                     f"{resolve[i]}+00", f"{resolve[i]}+00", f"{created[i]}+00") for i in range(lo, hi)]
            copy_rows(cur, "hazard", ["id", "code", "category_code", "severity", "geom", "grid_id", "grid_version",
                                      "grid_code", "status", "accept_by", "resolve_by", "created_at", "updated_at"],
                      rows)
            log(f"hazards {hi:,}/{m:,}")
        cur.execute("SELECT setval(pg_get_serial_sequence('hazard', 'id'), %s)", (m,))
        cur.execute("ALTER TABLE hazard ENABLE TRIGGER hazard_heat_rollup_insert")
        cur.execute("COMMIT")
        cur.execute("ANALYZE hazard")
    conn.close()
    return time.perf_counter() - started


def timed(fn, repeat: int) -> tuple[float, list[float], object]:
    started = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - started)
    return cold, warm, result


RANGES = {  # Beijing time
    "all": (None, None),
    "week": ("2026-03-09T00:00:00+08:00", "2026-03-16T00:00:00+08:00"),
    "month": ("2026-05-01T00:00:00+08:00", "2026-06-01T00:00:00+08:00"),
    "range": ("2026-02-10T10:30:00+08:00", "2026-08-20T17:00:00+08:00"),
}
ZOOMS = (10, 12, 14, 16, 18)


def main() -> None:
    from datetime import datetime

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hazards", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="measure everything this many times (shared machine)")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()

    url = bench_url(os.environ.get("DATABASE_URL", "postgresql://gridmap@127.0.0.1:54320/gridmap"),
                    "gridmap_bench_heatmap")
    ensure_database(url)
    log(f"fresh schema in {url.rsplit('/', 1)[-1]}")
    fresh_schema(url)
    city = make_city(args.grids, args.seed)
    load_city(url, city)
    load_s = load_hazards(url, city, args.hazards, args.seed)
    checkpoint(url)
    bbox = EXTENT
    engine = create_engine(sqlalchemy_url(url), pool_size=1, max_overflow=0)
    started = time.perf_counter()
    with Session(engine) as session:
        refreshed = refresh_daily(session)
    refresh_s = time.perf_counter() - started
    started = time.perf_counter()
    with Session(engine) as session:
        pyramid = refresh_rollup(session)
    rollup_s = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE hazard_daily_cell")
        c.exec_driver_sql("VACUUM ANALYZE hazard_heat_rollup")
        c.exec_driver_sql("VACUUM ANALYZE hazard")
        plan = [r[0] for r in c.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT ST_Y(ST_SnapToGrid(geom, 0.0027466)), "
            "ST_X(ST_SnapToGrid(geom, 0.0027466)), count(*) FROM hazard "
            "WHERE grid_code LIKE '%%' AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) GROUP BY 1, 2", bbox)]
        levels = c.exec_driver_sql("SELECT level, period_kind, count(*) FROM hazard_heat_rollup "
                                   "WHERE category_code = '' GROUP BY 1, 2 ORDER BY 1, 2").all()
    results: dict[str, object] = {"hazards": args.hazards, "grids": args.grids, "load_s": load_s,
                                  "refresh_daily_s": refresh_s, "refresh_rollup_s": rollup_s,
                                  "daily_cells": refreshed["cells"], "rollup_rows": pyramid["rows"],
                                  "direct_plan_zoom18": plan, "rounds": []}

    def count():
        with engine.connect() as c:
            return c.exec_driver_sql(
                "SELECT count(*) FROM hazard WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", bbox).scalar()

    header = [f"hazards loaded by COPY in {load_s:.1f} s (rollup triggers off); {args.grids:,} grids",
              f"daily pre-aggregation rebuilt in {refresh_s:.1f} s: {refreshed['cells']:,} day-cells",
              (f"zoom pyramid rebuilt in {rollup_s:.1f} s: {pyramid['rows']:,} rows (all levels, months + weeks, "
               "per category and all)"),
              "  all-category rows per level (m = months, w = weeks): "
              + ", ".join(f"{lv}{k}:{n:,}" for lv, k, n in levels),
              "EXPLAIN ANALYZE, counting path, city bbox at the zoom-13 cell size (zoom 18 is capped to it):",
              *("  " + line for line in plan if "actual" in line or "Execution" in line or "Planning" in line)]
    print("\n".join(header), flush=True)
    for rnd in range(1, args.rounds + 1):
        engine.dispose()
        load_start = os.getloadavg()[0]
        count_cold, count_warm, total = timed(count, args.repeat)
        count_warm_s = statistics.median(count_warm)
        lines = ["", (f"round {rnd}/{args.rounds}: load average (1 min) {load_start:.2f} on {os.cpu_count()} CPUs; "
                      f"baseline SELECT count(*) over the city bbox ({total:,} hazards): "
                      f"cold {count_cold * 1000:.0f} ms, warm {count_warm_s * 1000:.0f} ms"),
                 (f"{'zoom':>4}  {'path':>7}  {'range':>5}  {'cells':>7}  {'payload':>9}  {'cold ms':>8}  "
                  f"{'warm ms':>8}  {'cold/cnt':>8}  {'warm/cnt':>8}  goals")]
        measured: dict[str, object] = {}
        for zoom in ZOOMS:
            cases = [("hazards", "all"), ("daily", "all")] + [("rollup", r) for r in RANGES]
            for path, name in cases:
                since, until = (None if v is None else datetime.fromisoformat(v) for v in RANGES[name])
                engine.dispose()  # a fresh connection: "cold" for the backend's caches

                def heat(zoom=zoom, path=path, since=since, until=until):
                    with Session(engine) as session:
                        return heatmap_cells(session, Scope.everything(), bbox=bbox, zoom=zoom, since=since,
                                             until=until, daily=path == "daily" if path != "rollup" else None,
                                             rollup=path == "rollup")

                cold, warm, body = timed(heat, args.repeat)
                assert body["source"] == path, (body["source"], path)
                payload = len(json.dumps(body, separators=(",", ":")).encode())
                warm_s = statistics.median(warm)
                limit = 1.5 if path == "hazards" else 0.15
                ok = cold <= limit and payload <= 1_000_000
                measured[f"{zoom}-{path}-{name}"] = {
                    "cells": len(body["cells"]), "payload_bytes": payload, "cold_s": cold, "warm_s": warm_s,
                    "cold_ratio": cold / count_warm_s, "warm_ratio": warm_s / count_warm_s, "total": body["total"]}
                lines.append(f"{zoom:>4}  {path:>7}  {name:>5}  {len(body['cells']):>7,}  {payload / 1024:>7.0f} KB  "
                             f"{cold * 1000:>8.0f}  {warm_s * 1000:>8.0f}  {cold / count_warm_s:>7.2f}x  "
                             f"{warm_s / count_warm_s:>7.2f}x  "
                             f"{'met' if ok else 'MISSED'} (cold ≤ {limit * 1000:.0f} ms, payload ≤ 1 MB)")
        lines.append(f"round {rnd}: load average (1 min) at end {os.getloadavg()[0]:.2f}")
        print("\n".join(lines), flush=True)
        results["rounds"].append({"loadavg_start": load_start, "loadavg_end": os.getloadavg()[0],
                                  "count_cold_s": count_cold, "count_warm_s": count_warm_s, "zooms": measured})
    path = write_json("heatmap", results)
    log(f"results: {path.relative_to(ROOT)}")
    engine.dispose()


if __name__ == "__main__":
    main()
