"""Benchmark: household import + grid assignment at city scale (run via scripts/bench/assign).

Measured in one run, on one database (gridmap_bench, migrated fresh):

* product   gridmap.imports.households.import_households on a GCJ-02 CSV (crs="gcj02"), in a
            child process whose peak memory (VmHWM) is the import's: the CSV read a part at a
            time, each part validated, converted to WGS-84, assigned (STRtree) and encoded
            while the previous part's binary COPY into household runs (first large load:
            secondary indexes, unique code and foreign key rebuilt after the COPY), commit.
* floor     the least work that gives the same rows: pandas.read_csv of the WGS-84 CSV,
            shapely STRtree point-in-polygon, raw COPY into a table without indexes, committed.
            A logged table, as every table the product writes: benchmarks run with durable
            settings, and with wal_level = replica (read replicas, issue 20) every row's WAL
            is written; an UNLOGGED floor (until 5 Dec 2026) measured a write that a crash
            loses and no replica receives.
* geopandas the path a user would script: read_postgis(grids) + read_csv + points_from_xy
            + sjoin(within) + to_postgis(if_exists="replace").
* plain SQL COPY into a copy of the household table, then UPDATE ... FROM grid WHERE ST_Contains.
* re-assign gridmap.households.assignment.assign_all, on unchanged grids and after ~5% of the
            grids changed boundaries (checked against an in-memory STRtree assignment).
* locate    gridmap.areas.service.locate p50/p95 vs a SELECT 1 round trip on the same session,
            interleaved call by call.

Figures are printed as ratios to baselines measured in the same run; goals are reported
("goal met"/"goal missed"), never asserted. Exit status 0 unless the bench itself fails.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import benchlib  # first: puts the repository root on sys.path for the gridmap imports
import citydata
import numpy as np
import pandas as pd
import shapely
from benchlib import ROOT, Stopwatch, Table, log, verdict
from sqlalchemy import create_engine, text

from gridmap.areas.service import locate
from gridmap.auth.scope import Scope
from gridmap.db import Database, sqlalchemy_url
from gridmap.errors import NotFound
from gridmap.geo.crs import wgs84_to_gcj02
from gridmap.households import address_index
from gridmap.households.assignment import assign_all, assign_points, load_grid_polygons
from gridmap.imports.households import import_households

SEED = 20260101
GOAL_FLOOR = 1.3
GOAL_PEAK_MB = 1536
GOAL_GEOPANDAS = 1.0
GOAL_LOCATE = 3.0
COPY_CHUNK = 100_000
BENCH_TABLES = ("bench_floor", "bench_gpd_household", "bench_sql_household")
CSV_DTYPES = {"户号": str, "电话": str, "地址": str, "户主": str, "标签": str, "风险等级": str}
ENGLISH = {"户号": "code", "地址": "address", "经度": "lon", "纬度": "lat", "户主": "head_name",
           "电话": "phone", "人数": "size", "标签": "tags", "风险等级": "risk_level"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/bench/assign", description=__doc__.split("\n")[0])
    p.add_argument("--households", type=int, default=1_000_000, help="households in the CSV (default 1,000,000)")
    p.add_argument("--grids", type=int, default=13_000, help="grids tiling the extent (default 13,000)")
    p.add_argument("--repeat-locate", type=int, default=2_000, help="locate calls timed (default 2,000)")
    p.add_argument("--keep", action="store_true", help="keep the bench database contents and the CSVs")
    p.add_argument("--seed", type=int, default=SEED, help=f"numpy seed (default {SEED})")
    p.add_argument("--rounds", type=int, default=1,
                   help="run floor, product and geopandas this many times, interleaved; report the best of each")
    p.add_argument("--skip-plain-sql", action="store_true", help="skip the COPY + UPDATE ST_Contains reference")
    p.add_argument("--skip-geopandas", action="store_true", help="skip the geopandas reference (memory-bound at 5 M)")
    p.add_argument("--skip-reassign", action="store_true", help="skip assign_all (unchanged and after grid changes)")
    p.add_argument("--profile", action="store_true",
                   help="run the product import under cProfile (slower; prints the top functions)")
    args = p.parse_args(argv)
    if args.households < 1 or args.grids < 4 or args.repeat_locate < 1 or args.rounds < 1:
        p.error("--households, --repeat-locate, --rounds must be >= 1 and --grids >= 4")
    return args


# --- paths ----------------------------------------------------------------------------

def run_floor(url: str, csv_path: str, grid_ids: np.ndarray, polygons: np.ndarray) -> dict[str, Any]:
    sw = Stopwatch()
    with sw.lap("parse"):
        frame = pd.read_csv(csv_path, dtype=CSV_DTYPES, usecols=list(ENGLISH))
    with sw.lap("strtree"):
        points = shapely.points(frame["经度"].to_numpy(), frame["纬度"].to_numpy())
        tree = shapely.STRtree(points)
        poly_idx, point_idx = tree.query(polygons, predicate="intersects")
        assigned = np.full(len(frame), -1, dtype=np.int64)
        assigned[point_idx] = grid_ids[poly_idx]
    conn = benchlib.raw_connect(url)
    try:
        with sw.lap("copy"), conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("DROP TABLE IF EXISTS bench_floor")
            cur.execute("CREATE TABLE bench_floor (code text, address text, lon float8, lat float8,"
                        " grid_id int, size int, tags text, risk_level text, head_name text, phone text)")
            rows = pd.DataFrame({
                "code": frame["户号"], "address": frame["地址"], "lon": frame["经度"], "lat": frame["纬度"],
                "grid_id": pd.array(np.where(assigned >= 0, assigned, None), dtype="Int64"),
                "size": frame["人数"], "tags": frame["标签"], "risk_level": frame["风险等级"],
                "head_name": frame["户主"], "phone": frame["电话"],
            })
            for start in range(0, len(rows), COPY_CHUNK):
                buffer = io.StringIO()
                rows.iloc[start:start + COPY_CHUNK].to_csv(buffer, index=False, header=False, na_rep="")
                buffer.seek(0)
                cur.copy_expert("COPY bench_floor FROM STDIN WITH (FORMAT csv)", buffer)
            cur.execute("COMMIT")
    finally:
        conn.close()
    codes = frame["户号"].to_numpy()
    return {"seconds": sw.total, "parts": dict(sw.laps), "assigned": int((assigned >= 0).sum()),
            "_assignment": pd.Series(assigned, index=codes)}


STAGE_NAMES = {
    "validate": "read a part + validate + GCJ-02 -> WGS-84 (1st: + grid polygons, drop indexes)",
    "match_existing": "match existing codes",
    "assign_and_write": "STRtree assign + encode || the previous part's COPY",
    "update_existing": "stage existing households",
    "rebuild_indexes": "rebuild indexes, unique code, foreign key",
}


def product_stages(events: list[tuple[str, int, int, float]], total: float) -> dict[str, float]:
    """Split the import by its progress callbacks: the time up to each event is its stage's
    (the parts interleave: validate, then assign and write, part after part)."""
    parts: dict[str, float] = {}
    last = 0.0
    for index, (stage, _done, _tot, at) in enumerate(events):
        name = "open the file, read the first part" if index == 0 else STAGE_NAMES.get(stage, stage)
        parts[name] = parts.get(name, 0.0) + at - last
        last = at
    parts["commit"] = total - last
    return parts


def memory_mb() -> dict[str, float]:
    """This process's resident set now and at its peak (/proc/self/status, MB)."""
    out = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def product_child(url: str, csv_path: str, profile_path: str) -> None:
    """The product import alone in this process (``--product-child``): prints one JSON line."""
    db = Database(url)
    session = db.session()
    events: list[tuple[str, int, int, float]] = []
    samples: list[tuple[int, float, float]] = []
    gc.collect()
    before = memory_mb()
    start = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        events.append((stage, done, total, time.perf_counter() - start))
        if stage == "assign_and_write":
            m = memory_mb()
            samples.append((done, m["VmRSS"], m["VmHWM"]))

    profiler = cProfile.Profile() if profile_path else None
    try:
        if profiler:
            profiler.enable()
        result = import_households(session, csv_path, "households.csv", crs="gcj02", progress=progress)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - start
        built = time.perf_counter()
        address_index.ensure(session)  # what the import's caller does after its commit
        index_seconds = time.perf_counter() - built
    finally:
        session.close()
        db.engine.dispose()
    rebuilds = [at for stage, _d, _t, at in events if stage == "rebuild_indexes"]
    out = {"seconds": seconds, "parts": product_stages(events, seconds), "address_index_seconds": index_seconds,
           "rebuild_steps": [b - a for a, b in zip([e[3] for e in events if e[0] != "rebuild_indexes"][-1:] + rebuilds,
                                                   rebuilds)],
           "result": {k: v for k, v in result.items() if k != "errors"},
           # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child's would be the bench's own peak
           "memory": {"before_mb": before["VmRSS"], "samples": samples, "peak_mb": memory_mb()["VmHWM"]}}
    if profiler:
        profiler.dump_stats(profile_path)
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf)
        stats.sort_stats("cumulative").print_stats(r"gridmap/", 15)
        stats.sort_stats("tottime").print_stats(20)
        out["profile_path"] = profile_path
        out["profile_top"] = buf.getvalue()
    print(json.dumps(out))


def run_product(url: str, csv_path: str, profile: bool) -> dict[str, Any]:
    profile_path = ""
    if profile:
        benchlib.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        profile_path = str(benchlib.RESULTS_DIR / "assign-product.prof")
    done = subprocess.run([sys.executable, __file__, "--product-child", url, csv_path, profile_path],
                          check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_geopandas(url: str, csv_path: str) -> dict[str, Any]:
    import geopandas as gpd

    engine = create_engine(sqlalchemy_url(url))
    sw = Stopwatch()
    try:
        with sw.lap("read_postgis grids"):
            grids = gpd.read_postgis("SELECT id AS grid_id, geom FROM grid WHERE kind = 'map'", engine,
                                     geom_col="geom")
        with sw.lap("read_csv + points_from_xy"):
            frame = pd.read_csv(csv_path, dtype=CSV_DTYPES).rename(columns=ENGLISH)
            points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                                      crs="EPSG:4326")
        with sw.lap("sjoin within"):
            joined = gpd.sjoin(points, grids, how="left", predicate="within").drop(columns="index_right")
        with sw.lap("to_postgis replace"):
            joined.to_postgis("bench_gpd_household", engine, if_exists="replace", index=False)
        with engine.connect() as conn:
            indexes = conn.execute(text(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'bench_gpd_household'")).scalar()
    finally:
        engine.dispose()
    return {"seconds": sw.total, "parts": dict(sw.laps), "rows_written": len(joined),
            "assigned": int(joined["grid_id"].notna().sum()), "indexes_created": int(indexes),
            "_assignment": joined.groupby("code")["grid_id"].min()}


RISK_SQL = {"高": "high", "中": "medium", "低": "low"}


def run_plain_sql(url: str, csv_path: str) -> dict[str, Any]:
    sw = Stopwatch()
    with sw.lap("parse"):
        frame = pd.read_csv(csv_path, dtype=CSV_DTYPES)
    conn = benchlib.raw_connect(url)
    try:
        with sw.lap("COPY into household copy"), conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("DROP TABLE IF EXISTS bench_sql_household")
            cur.execute("CREATE TABLE bench_sql_household (LIKE household INCLUDING DEFAULTS"
                        " INCLUDING CONSTRAINTS INCLUDING INDEXES)")
            points = shapely.set_srid(shapely.points(frame["经度"].to_numpy(), frame["纬度"].to_numpy()), 4326)
            tags = frame["标签"].fillna("").str.replace(r"[;、,]", ",", regex=True)
            rows = pd.DataFrame({
                "code": frame["户号"], "address": frame["地址"].fillna(""),
                "geom": shapely.to_wkb(points, hex=True, include_srid=True),  # hex EWKB, as COPY accepts
                "size": frame["人数"], "tags": "{" + tags + "}",
                "risk_level": frame["风险等级"].map(RISK_SQL), "head_name": frame["户主"], "phone": frame["电话"],
            })
            for start in range(0, len(rows), COPY_CHUNK):
                buffer = io.StringIO()
                rows.iloc[start:start + COPY_CHUNK].to_csv(buffer, index=False, header=False, na_rep="")
                buffer.seek(0)
                cur.copy_expert("COPY bench_sql_household (code, address, geom, size, tags, risk_level,"
                                " head_name, phone) FROM STDIN WITH (FORMAT csv)", buffer)
            cur.execute("COMMIT")
        with sw.lap("UPDATE ... ST_Contains"), conn.cursor() as cur:
            cur.execute("UPDATE bench_sql_household h SET grid_id = g.id FROM grid g"
                        " WHERE g.kind = 'map' AND ST_Contains(g.geom, h.geom)")
            updated = cur.rowcount
    finally:
        conn.close()
    return {"seconds": sw.total, "parts": dict(sw.laps), "updated": int(updated)}


# --- re-assignment --------------------------------------------------------------------

def change_grids(url: str, polygons: np.ndarray, grid_ids: np.ndarray, share: float, seed: int) -> list[int]:
    """Move a disc-shaped piece of grid B into neighbour A for pairs covering ~``share`` of
    grids (the tiling stays exact). Updates grid + grid_version; returns changed grid ids."""
    rng = np.random.default_rng(seed + 2)
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    keep = left < right
    pairs = np.column_stack([left[keep], right[keep]])[rng.permutation(int(keep.sum()))]
    want = max(2, round(share * len(polygons)))
    used: set[int] = set()
    updates: list[tuple[int, Any]] = []
    for a, b in pairs:
        if len(used) >= want:
            break
        if a in used or b in used:
            continue
        pa, pb = polygons[a], polygons[b]
        shared = shapely.intersection(shapely.boundary(pa), shapely.boundary(pb))
        if shapely.length(shared) < 1e-4:
            continue
        centre = shapely.line_interpolate_point(shapely.line_merge(shared), 0.5, normalized=True) \
            if shared.geom_type in ("LineString", "MultiLineString") else shapely.centroid(shared)
        disc = shapely.buffer(centre, 0.35 * np.sqrt(shapely.area(pb)))
        new_a = shapely.union(pa, shapely.intersection(disc, pb, grid_size=1e-9), grid_size=1e-9)
        new_b = shapely.difference(pb, disc, grid_size=1e-9)
        if not (shapely.is_valid(new_a) and shapely.is_valid(new_b)) or shapely.area(new_b) < 0.3 * shapely.area(pb):
            continue
        if new_a.geom_type not in ("Polygon", "MultiPolygon") or new_b.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        used.update((int(a), int(b)))
        updates += [(int(grid_ids[a]), new_a), (int(grid_ids[b]), new_b)]
    hexes = benchlib.multipolygon_hex(np.array([g for _, g in updates], dtype=object))
    conn = benchlib.raw_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("CREATE TEMP TABLE grid_change (id int, geom geometry) ON COMMIT DROP")
            benchlib.copy_rows(cur, "grid_change", ["id", "geom"], [(i, h) for (i, _), h in zip(updates, hexes)])
            cur.execute("UPDATE grid g SET geom = c.geom, version = g.version + 1, updated_at = now()"
                        " FROM grid_change c WHERE g.id = c.id")
            cur.execute("UPDATE grid_version v SET valid_to = now() FROM grid_change c"
                        " WHERE v.grid_id = c.id AND v.valid_to IS NULL")
            cur.execute("INSERT INTO grid_version (grid_id, version, geom, reason)"
                        " SELECT g.id, g.version, g.geom, 'bench' FROM grid g JOIN grid_change c ON c.id = g.id")
            cur.execute("COMMIT")
            cur.execute("ANALYZE grid")
    finally:
        conn.close()
    return [i for i, _ in updates]


def household_state(url: str) -> pd.DataFrame:
    conn = benchlib.raw_connect(url)
    try:
        with conn.cursor() as cur:
            buf = io.StringIO()
            cur.copy_expert("COPY (SELECT id, ST_X(geom), ST_Y(geom), coalesce(grid_id, -1) FROM household"
                            " ORDER BY id) TO STDOUT WITH (FORMAT csv)", buf)
    finally:
        conn.close()
    buf.seek(0)
    return pd.read_csv(buf, names=["id", "x", "y", "grid_id"])


def run_reassign(url: str, db: Database, polygons: np.ndarray, grid_ids: np.ndarray, seed: int) -> dict[str, Any]:
    benchlib.checkpoint(url, vacuum=("household",))  # what autovacuum does after a bulk load
    out: dict[str, Any] = {}
    session = db.session()
    try:
        start = time.perf_counter()
        res = assign_all(session)
        out["unchanged"] = {"seconds": time.perf_counter() - start, **res.as_dict()}
    finally:
        session.close()

    before = household_state(url)
    changed = change_grids(url, polygons, grid_ids, 0.05, seed)
    benchlib.checkpoint(url)
    session = db.session()
    try:
        start = time.perf_counter()
        res = assign_all(session)
        out["changed"] = {"seconds": time.perf_counter() - start, "grids_changed": len(changed), **res.as_dict()}
        new_ids, new_polygons = load_grid_polygons(session)
    finally:
        session.close()
    after = household_state(url)
    expected = assign_points(before.x.to_numpy(), before.y.to_numpy(), new_ids, new_polygons)
    out["changed"]["expected_moved"] = int(((before.grid_id.to_numpy() != expected)
                                            & (before.grid_id.to_numpy() >= 0) & (expected >= 0)).sum())
    out["changed"]["mismatch_vs_strtree"] = int((after.grid_id.to_numpy() != expected).sum())
    return out


# --- locate ---------------------------------------------------------------------------

# Diagnostic: locate's query as plain text (same joins, filter, order), to split the
# service's time into SQL (planning + execution + round trip) and Python/ORM overhead.
LOCATE_SQL = text("""
SELECT g.code, g.name, c.code, c.name, s.code, s.name, d.code, d.name
FROM grid g JOIN admin_unit c ON c.id = g.community_id
LEFT JOIN admin_unit s ON s.id = c.parent_id LEFT JOIN admin_unit d ON d.id = s.parent_id
WHERE g.kind = 'map' AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ORDER BY g.code LIMIT 1
""")


def run_locate(db: Database, repeat: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed + 3)
    x0, y0, x1, y1 = citydata.EXTENT
    warm = min(200, repeat)
    pts = rng.uniform((x0 + 1e-4, y0 + 1e-4), (x1 - 1e-4, y1 - 1e-4), (repeat + warm, 2))
    scope = Scope.everything()
    session = db.session()
    locate_t: list[float] = []
    select1_t: list[float] = []
    sql_t: list[float] = []
    not_found = 0
    try:
        select1 = text("SELECT 1")
        gc.collect()
        for i, (lon, lat) in enumerate(pts):
            t0 = time.perf_counter()
            try:
                locate(session, scope, float(lon), float(lat), "wgs84")
            except NotFound:
                not_found += 1
            t1 = time.perf_counter()
            session.execute(select1).scalar()
            t2 = time.perf_counter()
            session.execute(LOCATE_SQL, {"lon": float(lon), "lat": float(lat)}).first()
            t3 = time.perf_counter()
            if i >= warm:
                locate_t.append(t1 - t0)
                select1_t.append(t2 - t1)
                sql_t.append(t3 - t2)
    finally:
        session.rollback()
        session.close()
    loc = benchlib.percentiles(locate_t)
    one = benchlib.percentiles(select1_t)
    return {"repeat": repeat, "warmup": warm, "not_found": not_found, "locate": loc, "select1": one,
            "locate_sql_text": benchlib.percentiles(sql_t),
            "ratio_p95": loc["p95"] / one["p95"], "ratio_p50": loc["p50"] / one["p50"]}


# --- main -----------------------------------------------------------------------------

def compare(a: pd.Series, b: pd.Series) -> int:
    """Households whose grid differs between two code-indexed assignments (-1/NaN = none)."""
    a = a.fillna(-1).astype(np.int64)
    b = b.reindex(a.index).fillna(-1).astype(np.int64)
    return int((a != b).sum())


def best_of(entry: dict[str, Any]) -> str:
    runs = entry.get("rounds_seconds", [])
    return f"; best of {', '.join(f'{x:.2f}' for x in runs)}" if len(runs) > 1 else ""


def render(args: argparse.Namespace, info: dict[str, Any], r: dict[str, Any]) -> str:
    n = args.households
    t = Table()
    fl, pr = r["floor"], r["product"]
    t.section(f"import + assign of {n:,} households ({info['outside']:,} outside the extent) "
              f"into {args.grids:,} grids (vertices mean {info['vertices_mean']:.0f}, "
              f"{info['vertices_min']}-{info['vertices_max']})")
    t.section("floor (WGS-84 CSV; parse + STRtree + raw COPY into a logged table, no indexes)")
    for name, secs in fl["parts"].items():
        t.add(f"  {name}", secs)
    t.add("  floor total", fl["seconds"], n / fl["seconds"], "1.00 x floor (baseline)" + best_of(fl))
    t.section("product import_households(crs='gcj02'): validates, converts GCJ-02 -> WGS-84, writes")
    for name, secs in pr["parts"].items():
        t.add(f"  {name}", secs)
    ratio_floor = pr["seconds"] / fl["seconds"]
    t.add("  product total", pr["seconds"], n / pr["seconds"],
          f"{ratio_floor:.2f} x floor (goal <= {GOAL_FLOOR}) {verdict(ratio_floor <= GOAL_FLOOR)}" + best_of(pr))
    index = pr["address_index_seconds"]
    t.add("  then: the address index, built after the commit", index, None,
          "address_index.ensure (the HTTP import: after its answer; the CLI: before it exits)")
    t.add("  product total + address index", pr["seconds"] + index, n / (pr["seconds"] + index),
          f"{(pr['seconds'] + index) / fl['seconds']:.2f} x floor (for reference: no goal)")
    mem = pr["memory"]
    t.add("  import's peak memory (VmHWM of its process, MB)", None, None,
          f"{mem['peak_mb']:,.0f} (goal <= {GOAL_PEAK_MB:,}) {verdict(mem['peak_mb'] <= GOAL_PEAK_MB)};"
          f" {mem['before_mb']:,.0f} before the import")
    samples = mem["samples"]
    if samples:
        marks = [samples[min(len(samples) - 1, max(0, round(k * len(samples) / 5) - 1))] for k in range(1, 6)]
        t.add("  peak so far at 1/5 ... 5/5 of the rows (MB)", None, None,
              " / ".join(f"{done:,}: {hwm:,.0f}" for done, _rss, hwm in marks))
    if "geopandas" in r:
        gp = r["geopandas"]
        t.section("geopandas (WGS-84 CSV): read_postgis + read_csv/points_from_xy + sjoin + to_postgis")
        for name, secs in gp["parts"].items():
            t.add(f"  {name}", secs)
        ratio_gp = pr["seconds"] / gp["seconds"]
        t.add("  geopandas total", gp["seconds"], n / gp["seconds"], f"{gp['seconds'] / fl['seconds']:.2f} x floor" + best_of(gp))
        t.add("  product / geopandas", None, None,
              f"{ratio_gp:.2f} (goal < {GOAL_GEOPANDAS:g}) {verdict(ratio_gp < GOAL_GEOPANDAS)}")
    if "plain_sql" in r:
        ps = r["plain_sql"]
        t.section("plain SQL (WGS-84 CSV): COPY into a household copy, UPDATE ... FROM grid WHERE ST_Contains")
        for name, secs in ps["parts"].items():
            t.add(f"  {name}", secs)
        t.add("  plain SQL total", ps["seconds"], n / ps["seconds"],
              f"{ps['seconds'] / fl['seconds']:.2f} x floor; product / plain SQL {pr['seconds'] / ps['seconds']:.2f}")
    if "reassign" in r:
        ra = r["reassign"]
        t.section("re-assignment assign_all (set-wise SQL) over all households")
        u, c = ra["unchanged"], ra["changed"]
        t.add("  grids unchanged", u["seconds"], n / u["seconds"],
              f"{u['seconds'] / fl['seconds']:.2f} x floor; moved {u['moved']:,}")
        t.add(f"  after {c['grids_changed']:,} grids changed", c["seconds"], n / c["seconds"],
              f"{c['seconds'] / fl['seconds']:.2f} x floor; moved {c['moved']:,} (STRtree expects "
              f"{c['expected_moved']:,}; {c['mismatch_vs_strtree']:,} households differ)")
    lo = r["locate"]
    t.section(f"locate(Scope.everything(), wgs84) vs SELECT 1, same session, interleaved x {lo['repeat']:,}")
    t.add("  locate p50 / p95 (ms)", None, None, f"{lo['locate']['p50'] * 1e3:.3f} / {lo['locate']['p95'] * 1e3:.3f}")
    t.add("  SELECT 1 p50 / p95 (ms)", None, None, f"{lo['select1']['p50'] * 1e3:.3f} / {lo['select1']['p95'] * 1e3:.3f}")
    sq = lo["locate_sql_text"]
    t.add("  diagnostic: locate's SQL as text() p50 / p95 (ms)", None, None,
          f"{sq['p50'] * 1e3:.3f} / {sq['p95'] * 1e3:.3f} ({sq['p95'] / lo['select1']['p95']:.2f} x SELECT 1 p95)")
    t.add("  locate p95 / SELECT 1 p95", None, None,
          f"{lo['ratio_p95']:.2f} (goal <= {GOAL_LOCATE:g}) {verdict(lo['ratio_p95'] <= GOAL_LOCATE)}")
    t.section("checks")
    chk = r["checks"]
    t.add("  households assigned (product / floor / geopandas)", None, None,
          f"{pr['result']['assigned']:,} / {fl['assigned']:,} / {r.get('geopandas', {}).get('assigned', 0):,}")
    t.add("  product vs floor: households with a different grid", None, None, f"{chk['product_vs_floor']:,}")
    if "product_vs_geopandas" in chk:
        t.add("  product vs geopandas: households with a different grid", None, None,
              f"{chk['product_vs_geopandas']:,}")
    return t.render()


def product_assignment(url: str) -> pd.Series:
    conn = benchlib.raw_connect(url)
    try:
        with conn.cursor() as cur:
            buf = io.StringIO()
            cur.copy_expert("COPY (SELECT code, coalesce(grid_id, -1) FROM household) TO STDOUT WITH (FORMAT csv)", buf)
    finally:
        conn.close()
    buf.seek(0)
    frame = pd.read_csv(buf, names=["code", "grid_id"], dtype={"code": str})
    return frame.set_index("code")["grid_id"]


def truncate_households(url: str) -> None:
    """An empty household table again (the product import is timed on a fresh one)."""
    conn = benchlib.raw_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("TRUNCATE household RESTART IDENTITY CASCADE")
    finally:
        conn.close()


def cleanup(url: str) -> None:
    conn = benchlib.raw_connect(url)
    try:
        with conn.cursor() as cur:
            for table in BENCH_TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute("TRUNCATE household, grid_version, grid, admin_unit CASCADE")
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--product-child"]:
        product_child(*argv[1:4])
        return 0
    args = parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("error: DATABASE_URL is not set (run through scripts/bench/assign)", file=sys.stderr)
        return 2
    url = benchlib.bench_url(database_url)
    started = time.time()
    load_before = benchlib.machine_info()

    log(f"database {url.split('@')[-1]}: fresh schema + migrations")
    benchlib.ensure_database(url)
    benchlib.fresh_schema(url)

    log(f"generating {args.grids:,} grids and {args.households:,} households (seed {args.seed})")
    city = citydata.make_city(args.grids, args.seed)
    workdir = tempfile.mkdtemp(prefix="gridmap-bench-assign-")
    wgs_csv = os.path.join(workdir, "households-wgs84.csv")
    gcj_csv = os.path.join(workdir, "households-gcj02.csv")
    x0, y0, x1, y1 = citydata.EXTENT
    outside = 0
    for number, homes in enumerate(citydata.household_chunks(args.households, args.seed)):
        lon, lat = homes.lon.to_numpy(), homes.lat.to_numpy()
        citydata.write_csv(homes, wgs_csv, lon, lat, append=number > 0)
        glon, glat = wgs84_to_gcj02(lon, lat)
        citydata.write_csv(homes, gcj_csv, glon, glat, append=number > 0)
        outside += int((~((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))).sum())
    del homes, lon, lat, glon, glat
    vc = city.vertex_counts
    info = {"outside": outside, "vertices_mean": float(vc.mean()), "vertices_min": int(vc.min()),
            "vertices_max": int(vc.max()), "csv_bytes": os.path.getsize(gcj_csv), "workdir": workdir}
    log("loading admin units and grids (COPY)")
    benchlib.load_city(url, city)
    grid_ids = city.grids.id.to_numpy()
    # The product's tie-break order (grid code) for the polygons the floor queries too.
    order = np.argsort(city.grids.code.to_numpy(), kind="stable")
    polygons, grid_ids = city.polygons[order], grid_ids[order]

    db = Database(url)
    results: dict[str, Any] = {}
    try:
        rounds: dict[str, list[dict[str, Any]]] = {"floor": [], "product": [], "geopandas": []}
        for rnd in range(args.rounds):
            tag = f" (round {rnd + 1}/{args.rounds})" if args.rounds > 1 else ""
            if rnd:
                truncate_households(url)
            benchlib.checkpoint(url)
            log("floor: read_csv + STRtree + raw COPY" + tag)
            rounds["floor"].append(run_floor(url, wgs_csv, grid_ids, polygons))
            benchlib.checkpoint(url, vacuum=("bench_floor",))
            gc.collect()
            log("product: import_households(crs='gcj02')" + (" under cProfile" if args.profile else "") + tag)
            rounds["product"].append(run_product(url, gcj_csv, args.profile and rnd == 0))
            benchlib.checkpoint(url, vacuum=("household", "tile_grid_households"))
            gc.collect()
            if args.skip_geopandas:
                continue
            log("geopandas: read_csv + sjoin + to_postgis" + tag)
            rounds["geopandas"].append(run_geopandas(url, wgs_csv))
            benchlib.checkpoint(url, vacuum=("bench_gpd_household",))
            gc.collect()
        for name, runs in rounds.items():
            if not runs:
                continue  # best of the rounds; every round kept in the JSON
            best = min(runs, key=lambda run: run["seconds"])
            results[name] = {**best, "rounds_seconds": [run["seconds"] for run in runs]}
            if "_assignment" in runs[-1]:
                results[name]["_assignment"] = runs[-1]["_assignment"]
            for run in runs:
                run.pop("_assignment", None)
        if "profile_top" in rounds["product"][0]:
            results["product"]["profile_top"] = rounds["product"][0]["profile_top"]
            results["product"]["profile_path"] = rounds["product"][0]["profile_path"]
        if not args.skip_plain_sql:
            log("plain SQL: COPY + UPDATE ... ST_Contains")
            results["plain_sql"] = run_plain_sql(url, wgs_csv)
            benchlib.checkpoint(url, vacuum=("bench_sql_household",))
            gc.collect()
        prod = product_assignment(url)
        results["checks"] = {"product_vs_floor": compare(prod, results["floor"].pop("_assignment"))}
        if "geopandas" in results:
            results["checks"]["product_vs_geopandas"] = compare(prod, results["geopandas"].pop("_assignment"))
        del prod
        if not args.skip_reassign:
            log("re-assignment: assign_all unchanged, then after ~5% of grids changed")
            results["reassign"] = run_reassign(url, db, polygons, grid_ids, args.seed)
        log(f"locate x {args.repeat_locate:,} vs SELECT 1")
        results["locate"] = run_locate(db, args.repeat_locate, args.seed)
    finally:
        db.engine.dispose()
        if not args.keep:
            cleanup(url)
            shutil.rmtree(workdir, ignore_errors=True)

    table = render(args, info, results)
    print(table)
    if args.profile and "profile_top" in results["product"]:
        print("\nproduct import under cProfile (gridmap functions by cumulative time, then the top by own time;"
              " the product timings above include profiler overhead):")
        print(results["product"]["profile_top"])
    load_after = benchlib.machine_info()
    caveat = (f"machine: {load_before['cpus']} CPUs; load average before {load_before.get('loadavg_1_5_15')}, "
              f"after {load_after.get('loadavg_1_5_15')}")
    print(f"\n{caveat}")
    payload = {
        "bench": "assign", "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "argv": argv, "args": vars(args), "data": info, "machine_before": load_before,
        "machine_after": load_after, "results": results,
        "ratios": {
            "product_over_floor": results["product"]["seconds"] / results["floor"]["seconds"],
            "product_over_geopandas": (results["product"]["seconds"] / results["geopandas"]["seconds"]
                                       if "geopandas" in results else None),
            "locate_p95_over_select1_p95": results["locate"]["ratio_p95"],
        },
        "product_peak_mb": results["product"]["memory"]["peak_mb"],
        "goals": {"product_over_floor": GOAL_FLOOR, "product_over_geopandas": GOAL_GEOPANDAS,
                  "locate_p95_over_select1_p95": GOAL_LOCATE, "product_peak_mb": GOAL_PEAK_MB},
        "table": table,
    }
    path = benchlib.write_json("assign", payload)
    print(f"results: {path.relative_to(ROOT)}" + (f"; data kept in {workdir} and {url.split('@')[-1]}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
