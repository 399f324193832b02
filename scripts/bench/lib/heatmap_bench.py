"""Heatmap benchmark: N hazards over a synthetic city, the city-wide heatmap at several
zooms (cold: first query on a fresh connection; warm: median of repeats) with its
payload size, against ``SELECT count(*)`` over the same bbox in the same run.

    scripts/bench/heatmap [--hazards N] [--grids N] [--repeat N] [--seed N]

Goals (issue 6): cold ≤ 1.5 s; payload ≤ 1 MB at any zoom; with the daily pre-aggregation
(hazard_daily_cell, rebuilt here by refresh_daily after the COPY load) ≤ 150 ms. Each zoom
is measured on both paths (counting hazards, and the daily cells). The machine may be
shared: the 1-minute load average is printed with the results.
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
from gridmap.hazards.heatmap import heatmap_cells, refresh_daily

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hazards", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
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
    with engine.connect() as c:
        c.exec_driver_sql("ANALYZE hazard_daily_cell")
        c.commit()
    results: dict[str, object] = {"hazards": args.hazards, "grids": args.grids, "load_s": load_s, "zooms": {}}

    def count():
        with engine.connect() as c:
            return c.exec_driver_sql(
                "SELECT count(*) FROM hazard WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", bbox).scalar()

    engine.dispose()
    count_cold, count_warm, total = timed(count, args.repeat)
    count_warm_s = statistics.median(count_warm)
    lines = [f"{total:,} hazards in {args.grids:,} grids; loaded by COPY in {load_s:.1f} s",
             (f"baseline SELECT count(*) over the city bbox: cold {count_cold * 1000:.0f} ms, "
              f"warm {count_warm_s * 1000:.0f} ms"), "",
             f"daily pre-aggregation rebuilt in {refresh_s:.1f} s: {refreshed['cells']:,} day-cells "
             f"({refreshed['cells'] / max(total, 1):.2f} per hazard)",
             f"load average (1 min) at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", "",
             f"{'zoom':>4}  {'path':>7}  {'cells':>7}  {'payload':>9}  {'cold ms':>8}  {'warm ms':>8}  "
             f"{'warm/count':>10}  goals"]
    for zoom in (10, 12, 14, 16, 18):
        for daily in (False, True):
            engine.dispose()  # a fresh connection: "cold" for the backend's caches

            def heat(zoom=zoom, daily=daily):
                with Session(engine) as session:
                    return heatmap_cells(session, Scope.everything(), bbox=bbox, zoom=zoom, daily=daily)

            cold, warm, body = timed(heat, args.repeat)
            payload = len(json.dumps(body, separators=(",", ":")).encode())
            warm_s = statistics.median(warm)
            limit = 0.15 if daily else 1.5
            ok = cold <= limit and payload <= 1_000_000
            path = "daily" if daily else "hazards"
            results["zooms"][f"{zoom}-{path}"] = {
                "cells": len(body["cells"]), "payload_bytes": payload, "cold_s": cold, "warm_s": warm_s,
                "ratio_to_count": warm_s / count_warm_s, "total": body["total"]}
            lines.append(f"{zoom:>4}  {path:>7}  {len(body['cells']):>7,}  {payload / 1024:>7.0f} KB  "
                         f"{cold * 1000:>8.0f}  {warm_s * 1000:>8.0f}  {warm_s / count_warm_s:>9.1f}x  "
                         f"{'goal met' if ok else 'goal missed'} (cold ≤ {limit * 1000:.0f} ms, payload ≤ 1 MB)")
    lines.append(f"load average (1 min) at end: {os.getloadavg()[0]:.1f}")
    results.update(count_cold_s=count_cold, count_warm_s=count_warm_s, refresh_s=refresh_s,
                   daily_cells=refreshed["cells"], loadavg_end=os.getloadavg()[0])
    print("\n".join(lines))
    path = write_json("heatmap", results)
    log(f"results: {path.relative_to(ROOT)}")
    engine.dispose()


if __name__ == "__main__":
    main()
