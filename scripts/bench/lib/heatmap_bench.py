"""Heatmap benchmark: N hazards over a synthetic city; heatmap views (date range × zoom ×
bbox) cold (first query on a fresh connection) and warm (median of repeats) with their payload
size, each against ``SELECT count(*)`` over the same bbox and date range in the same round.

    scripts/bench/heatmap [--hazards N] [--grids N] [--repeat N] [--rounds N] [--inserts N] [--seed N]

Goals (issue 6), per view: payload ≤ 1 MB; counting the hazards (no pre-aggregation): cold ≤ 1.5 s;
with the pre-aggregation (the zoom pyramid hazard_heat_rollup: years and months per level 6–15,
days up to level 13, per street, category and cell; the days a fine level lacks are counted from
the hazards; the default path): cold ≤ 1.5 s and warm ≤ 150 ms.
The load is COPYed with the rollup trigger off and the pyramid rebuilt afterwards (timed). Views:
city-wide at zooms 10–18 (the cell is capped at 1/160 of the bbox, so levels 10–13) for one ISO
week (the slider), a month, a quarter, the whole year, and a range with partial days at both
ends (also for one category); a screen-sized view (1280×720 px) at zooms 13–16 in the densest
part. The trigger's
insert cost is timed against the same inserts with the trigger off, and the pyramid checked
against the hazard table afterwards. The machine may be shared: every round prints the 1-minute
load average, and the scores are ratios against figures measured in the same round.
"""

from __future__ import annotations

import argparse
import json
import math
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
from gridmap.hazard_stats.cells import cell_level
from gridmap.hazard_stats.heatmap import heatmap_cells
from gridmap.hazard_stats.refresh import refresh_rollup

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
    "week": ("2026-03-09T00:00:00+08:00", "2026-03-16T00:00:00+08:00"),
    "month": ("2026-05-01T00:00:00+08:00", "2026-06-01T00:00:00+08:00"),
    "quarter": ("2026-04-01T00:00:00+08:00", "2026-07-01T00:00:00+08:00"),
    "year": ("2026-01-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"),
    "range": ("2026-02-10T10:30:00+08:00", "2026-08-20T17:00:00+08:00"),
}
ZOOMS = (10, 12, 14, 16, 18)
SCREEN = (1280, 720)  # pixels
SCREEN_ZOOMS = (13, 14, 15, 16)
SCREEN_RANGES = ("week", "year")
CATEGORY = "fire"  # city-wide range views for one category
INSERT_COLUMNS = "code, category_code, severity, geom, grid_version, grid_code, accept_by, resolve_by, created_at"


def screen_bbox(zoom: int) -> tuple[float, float, float, float]:
    """A 1280×720-px view (256-px Web Mercator tiles) centred on the city's densest part."""
    deg = 360.0 / (256 * 2 ** zoom)
    half_w = SCREEN[0] / 2 * deg
    half_h = SCREEN[1] / 2 * deg * math.cos(math.radians(CENTRE[1]))
    return (CENTRE[0] - half_w, CENTRE[1] - half_h, CENTRE[0] + half_w, CENTRE[1] + half_h)


def insert_cost(url: str, n: int) -> dict[str, float]:
    """Median ms of a one-hazard INSERT (its own transaction, as a report) with the rollup trigger and
    without it, and seconds of one 10,000-row INSERT … SELECT both ways; every row is deleted again
    the way it was inserted, so the pyramid stays equal to the table."""
    conn = raw_connect(url)
    conn.autocommit = True
    out: dict[str, float] = {}
    one = (f"INSERT INTO hazard ({INSERT_COLUMNS}) SELECT 'HZ-BENCH-' || %s, category_code, severity, "
           "ST_Translate(geom, 0.0001, 0.0001), grid_version, grid_code, accept_by, resolve_by, "
           "created_at + interval '1 hour' FROM hazard WHERE id = %s")
    bulk = (f"INSERT INTO hazard ({INSERT_COLUMNS}) SELECT 'HZ-BULK-' || id, category_code, severity, "
            "ST_Translate(geom, 0.0001, 0.0001), grid_version, grid_code, accept_by, resolve_by, "
            "created_at + interval '1 hour' FROM hazard WHERE id BETWEEN 1 AND 10000")
    with conn.cursor() as cur:
        for trigger in (False, True):
            if not trigger:
                cur.execute("ALTER TABLE hazard DISABLE TRIGGER hazard_heat_rollup_insert, "
                            "DISABLE TRIGGER hazard_heat_rollup_delete")
            times = []
            for i in range(n):
                started = time.perf_counter()
                cur.execute(one, (f"{trigger}-{i}", 1 + i * 997))
                times.append(time.perf_counter() - started)
            started = time.perf_counter()
            cur.execute(bulk)
            out[f"bulk_s_{'on' if trigger else 'off'}"] = time.perf_counter() - started
            out[f"one_ms_{'on' if trigger else 'off'}"] = statistics.median(times) * 1000
            started = time.perf_counter()
            cur.execute("DELETE FROM hazard WHERE code LIKE 'HZ-BENCH-%' OR code LIKE 'HZ-BULK-%'")
            out[f"delete_s_{'on' if trigger else 'off'}"] = time.perf_counter() - started
            if not trigger:
                cur.execute("ALTER TABLE hazard ENABLE TRIGGER hazard_heat_rollup_insert, "
                            "ENABLE TRIGGER hazard_heat_rollup_delete")
        cur.execute("VACUUM ANALYZE hazard_heat_rollup")
    conn.close()
    return out


def rollup_check(url: str) -> dict[str, int]:
    """The pyramid against the hazard table after everything: per level and kind, the all-category
    sums must equal count(*), and no cell count may be negative."""
    conn = raw_connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM hazard")
        count = cur.fetchone()[0]
        cur.execute("SELECT level, period_kind, sum(n) FROM hazard_heat_rollup WHERE category_code = '' "
                    "GROUP BY 1, 2")
        sums = cur.fetchall()
        cur.execute("SELECT count(*) FROM hazard_heat_rollup WHERE n < 0")
        negative = cur.fetchone()[0]
    conn.close()
    return {"hazards": count, "mismatched": sum(1 for *_, n in sums if n != count), "sums": len(sums),
            "negative": negative}


def main() -> None:
    from datetime import datetime

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hazards", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="measure everything this many times (shared machine)")
    parser.add_argument("--inserts", type=int, default=200, help="one-hazard INSERTs timed each way")
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
    engine = create_engine(sqlalchemy_url(url), pool_size=1, max_overflow=0)
    started = time.perf_counter()
    with Session(engine) as session:
        pyramid = refresh_rollup(session)
    rollup_s = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql("VACUUM ANALYZE hazard_heat_rollup")
        c.exec_driver_sql("VACUUM ANALYZE hazard")
        levels = c.exec_driver_sql("SELECT level, period_kind, count(*) FROM hazard_heat_rollup "
                                   "WHERE category_code = '' GROUP BY 1, 2 ORDER BY 1, 2").all()
        size_mb = c.exec_driver_sql("SELECT pg_total_relation_size('hazard_heat_rollup') / 1e6").scalar()
    log("timing inserts")
    inserts = insert_cost(url, args.inserts)
    check = rollup_check(url)
    results: dict[str, object] = {"hazards": args.hazards, "grids": args.grids, "load_s": load_s,
                                  "refresh_rollup_s": rollup_s, "rollup_rows": pyramid["rows"],
                                  "rollup_mb": float(size_mb), "inserts": inserts, "rollup_check": check,
                                  "rounds": []}
    header = [f"hazards loaded by COPY in {load_s:.1f} s (rollup trigger off); {args.grids:,} grids",
              (f"zoom pyramid rebuilt in {rollup_s:.1f} s: {pyramid['rows']:,} rows, {size_mb:,.0f} MB "
               "(levels 6–15: years and months; levels 6–13: days; per category and all)"),
              "  all-category rows per level and kind: "
              + ", ".join(f"{lv}{k}:{n:,}" for lv, k, n in levels),
              (f"insert, one hazard per transaction (median of {args.inserts}): {inserts['one_ms_on']:.2f} ms with the "
               f"rollup trigger, {inserts['one_ms_off']:.2f} ms without "
               f"({inserts['one_ms_on'] / inserts['one_ms_off']:.1f}x, same run)"),
              (f"insert, 10,000 hazards in one statement: {inserts['bulk_s_on']:.2f} s with the trigger, "
               f"{inserts['bulk_s_off']:.2f} s without ({inserts['bulk_s_on'] / inserts['bulk_s_off']:.1f}x); "
               f"deleting them: {inserts['delete_s_on']:.2f} s / {inserts['delete_s_off']:.2f} s"),
              (f"pyramid vs hazard table after the inserts and deletes: {check['sums'] - check['mismatched']}/"
               f"{check['sums']} level×kind sums equal count(*) = {check['hazards']:,}, "
               f"{check['negative']} negative cells → "
               f"{'exact' if not check['mismatched'] and not check['negative'] else 'NOT EXACT'}")]
    print("\n".join(header), flush=True)
    views = [("city", EXTENT, zoom, name, None) for zoom in ZOOMS for name in RANGES]
    views += [("city", EXTENT, zoom, "range", CATEGORY) for zoom in (12, 14)]
    views += [("screen", screen_bbox(zoom), zoom, name, None) for zoom in SCREEN_ZOOMS for name in SCREEN_RANGES]
    references = [("city", EXTENT, zoom, "year", None) for zoom in (10, 13)] + [
        ("screen", screen_bbox(zoom), zoom, "year", None) for zoom in (14, 16)]

    def count(bbox, since, until):
        with engine.connect() as c:
            return c.exec_driver_sql(
                "SELECT count(*) FROM hazard WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) "
                "AND created_at >= %s AND created_at < %s", (*bbox, since, until)).scalar()

    for rnd in range(1, args.rounds + 1):
        engine.dispose()
        load_start = os.getloadavg()[0]
        baselines = {}
        for where, bbox, names in [("city", EXTENT, RANGES), *((f"screen{z}", screen_bbox(z), SCREEN_RANGES)
                                                               for z in SCREEN_ZOOMS)]:
            for name in names:
                since, until = RANGES[name]
                engine.dispose()
                b_cold, b_warm, n = timed(lambda: count(bbox, since, until), args.repeat)
                baselines[(where, name)] = (b_cold, statistics.median(b_warm), n)
        lines = ["", f"round {rnd}/{args.rounds}: load average (1 min) {load_start:.2f} on {os.cpu_count()} CPUs",
                 (f"{'view':>6} {'zoom':>4} {'level':>5} {'range':>10} {'path':>7} {'source':>7} {'cells':>6} "
                  f"{'payload':>8} {'cold ms':>7} {'warm ms':>7} {'count(*) ms':>11} {'warm/cnt':>8}  goals"),
                 "path: default = what the map gets (source: the path it chose), count = counting the hazards forced"]
        measured: dict[str, object] = {}
        for path in ("count", "default"):
            for where, bbox, zoom, name, category in (references if path == "count" else views):
                since, until = (datetime.fromisoformat(v) for v in RANGES[name])
                key = (where if where == "city" else f"screen{zoom}", name)
                engine.dispose()  # a fresh connection: "cold" for the backend's caches

                def heat(zoom=zoom, path=path, since=since, until=until, bbox=bbox, category=category):
                    with Session(engine) as session:
                        return heatmap_cells(session, Scope.everything(), bbox=bbox, zoom=zoom, since=since,
                                             until=until, category=category, daily=False if path == "count" else None,
                                             rollup=path != "count")

                cold, warm, body = timed(heat, args.repeat)
                payload = len(json.dumps(body, separators=(",", ":")).encode())
                warm_s = statistics.median(warm)
                b_cold, b_warm, n = baselines[key]
                if path == "default":  # what the map asks
                    ok = cold <= 1.5 and warm_s <= 0.15 and payload <= 1_000_000
                    goal = "cold ≤ 1.5 s, warm ≤ 150 ms, payload ≤ 1 MB"
                else:
                    ok = cold <= 1.5 and payload <= 1_000_000
                    goal = "cold ≤ 1.5 s, payload ≤ 1 MB (counting forced, no pre-aggregation)"
                level = cell_level(zoom, bbox)
                label = name if category is None else f"{name}/{category}"
                measured[f"{where}-{zoom}-{label}-{path}"] = {
                    "path": path, "category": category, "source": body["source"], "level": level, "cells": len(body["cells"]),
                    "total": body["total"], "bbox_count": n, "payload_bytes": payload, "cold_s": cold, "warm_s": warm_s,
                    "count_cold_s": b_cold, "count_warm_s": b_warm, "warm_ratio": warm_s / b_warm, "goal_met": ok}
                lines.append(f"{where:>6} {zoom:>4} {level:>5} {label:>10} {path:>7} {body['source']:>7} "
                             f"{len(body['cells']):>6,} {payload / 1024:>5.0f} KB {cold * 1000:>7.0f} "
                             f"{warm_s * 1000:>7.0f} "
                             f"{b_warm * 1000:>11.0f} {warm_s / b_warm:>7.2f}x  "
                             f"{'goal met' if ok else 'goal MISSED'} ({goal})")
        lines.append("count(*) = SELECT count(*) FROM hazard over the same bbox and range (all categories), warm median; "
                     "hazards in each: " + ", ".join(f"{w}/{r} {v[2]:,}" for (w, r), v in sorted(baselines.items())))
        lines.append(f"round {rnd}: load average (1 min) at end {os.getloadavg()[0]:.2f}")
        print("\n".join(lines), flush=True)
        results["rounds"].append({"loadavg_start": load_start, "loadavg_end": os.getloadavg()[0],
                                  "baselines": {f"{w}-{r}": v for (w, r), v in baselines.items()},
                                  "views": measured})
    path = write_json("heatmap", results)
    log(f"results: {path.relative_to(ROOT)}")
    engine.dispose()


if __name__ == "__main__":
    main()
