"""Check-in benchmark: the production server (gunicorn via ``flask serve``) on 127.0.0.1
and an open-loop load generator (fixed arrival rate, up to 64 connections, bounded in
time). For rising rates it sends single check-ins, then the no-database ``/healthz``;
a rate is *held* when p99 ≤ 100 ms (latency counted from the scheduled send time, so
queueing counts), every request succeeded and — for check-ins — every one is stored
exactly once. Prints the highest held rate of each and their ratio (the score), then
the batch sync rate (100,000 queued check-ins in batches of 500) against a raw COPY of
the same rows into ``checkin`` measured in the same run.

  scripts/bench/checkins [--rates 50,100,200,400,600,800] [--seconds 4] [--batch-rows 100000]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from benchlib import bench_url, ensure_database, log  # noqa: E402
from gridmap.db import sqlalchemy_url  # noqa: E402
from gridmap.migrate import upgrade  # noqa: E402

BENCH_DB = "gridmap_bench_checkins"
P99_LIMIT_MS = 100.0
GRID = "331102001001001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> str:
    """Fresh schema, one grid and one grid worker; returns the worker's API token."""
    ensure_database(url)
    engine = create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("DROP SCHEMA IF EXISTS checkin_part CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    from gridmap import create_app
    from gridmap.auth.service import create_user, issue_token
    from gridmap.config import Settings

    app = create_app(Settings(database_url=url, secret_key="bench"))
    session = app.extensions["gridmap.db"].session()
    box = "MULTIPOLYGON(((119.88 28.45,119.89 28.45,119.89 28.46,119.88 28.46,119.88 28.45)))"
    session.execute(text(f"""
        INSERT INTO admin_unit (code, name, level, geom) VALUES ('331102', '莲都区', 'district', NULL),
               ('331102001', '紫金街道', 'street', NULL), ('331102001001', '城北社区', 'community', NULL);
        INSERT INTO grid (code, name, community_id, geom)
             SELECT '{GRID}', '城北社区第1网格', id, ST_GeomFromText('{box}', 4326) FROM admin_unit WHERE code = '331102001001';
        INSERT INTO grid_version (grid_id, version, geom) SELECT id, 1, geom FROM grid;
        INSERT INTO household (code, geom, grid_id)
             SELECT 'B' || i, ST_SetSRID(ST_MakePoint(119.88 + random() / 100, 28.45 + random() / 100), 4326), g.id
               FROM generate_series(1, 400) i, grid g;
    """))
    session.commit()
    user = create_user(session, "bench-worker", "bench-password", "grid_worker", GRID)
    token, _ = issue_token(session, user, 12)
    session.close()
    app.extensions["gridmap.db"].engine.dispose()
    return token


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "gridmap", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit("error: the server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def open_loop(port: int, rate: float, seconds: float, make_request, connections: int = 64) -> dict:
    """Send ``rate`` requests/s for ``seconds`` at fixed arrival times (open loop)."""
    jobs: queue.Queue = queue.Queue()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            job = jobs.get()
            if job is None:
                return
            scheduled, k = job
            method, path, body, headers = make_request(k)
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status in (200, 201)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            done = time.perf_counter()
            with lock:
                latencies.append((done - scheduled) * 1000)
                if not ok:
                    errors[0] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    n = int(rate * seconds)
    start = time.perf_counter() + 0.05
    for k in range(n):
        at = start + k / rate
        delay = at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put((at, k))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(timeout=30)
    elapsed = time.perf_counter() - start
    lat = np.array(latencies) if latencies else np.array([np.inf])
    return {"rate": rate, "sent": n, "answered": len(latencies), "errors": errors[0],
            "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
            "achieved": len(latencies) / elapsed}


def checkin_request(token: str, tag: str):
    now = datetime.now(UTC)

    def make(k: int):
        body = json.dumps({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}-{k}")), "lon": 119.885, "lat": 28.455,
                           "accuracy_m": 10, "recorded_at": (now + timedelta(milliseconds=k)).isoformat(),
                           "note": tag})
        return "POST", "/api/v1/checkins", body, {"Content-Type": "application/json",
                                                   "Authorization": f"Bearer {token}"}
    return make


def health_request(k: int):
    return "GET", "/healthz", None, {}


def stored(engine, tag: str) -> int:
    with engine.connect() as c:
        return c.scalar(text("SELECT count(DISTINCT id) FROM checkin WHERE note = :t"), {"t": tag})


def held(result: dict, lost: int = 0) -> bool:
    return (result["errors"] == 0 and lost == 0 and result["answered"] == result["sent"]
            and result["p99_ms"] <= P99_LIMIT_MS)


def batch_sync(port: int, token: str, rows: int, batch: int = 500, connections: int = 4) -> float:
    t0 = datetime.now(UTC) - timedelta(days=1)
    bodies = []
    for start in range(0, rows, batch):
        items = [{"id": str(uuid.uuid4()), "lon": 119.881 + (k % 100) * 0.00008, "lat": 28.451 + (k // 100 % 100) * 0.00008,
                  "accuracy_m": 15, "recorded_at": (t0 + timedelta(seconds=k * 3)).isoformat(), "note": "sync"}
                 for k in range(start, min(rows, start + batch))]
        bodies.append(json.dumps({"items": items}))
    jobs: queue.Queue = queue.Queue()
    for b in bodies:
        jobs.put(b)
    failures = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            try:
                body = jobs.get_nowait()
            except queue.Empty:
                return
            conn.request("POST", "/api/v1/checkins", body=body,
                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failures[0] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures[0]:
        log(f"batch sync: {failures[0]} batches failed")
    return rows / elapsed


def copy_floor(url: str, rows: int) -> float:
    """Raw COPY of the same number of check-in rows: the floor for the batch sync."""
    import psycopg2

    from benchlib import libpq_url
    conn = psycopg2.connect(libpq_url(url))
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM app_user LIMIT 1")
        user_id = cur.fetchone()[0]
        t0 = datetime.now(UTC) - timedelta(days=2)
        buf = io.StringIO()
        for k in range(rows):
            buf.write(f"{uuid.uuid4()}\t{(t0 + timedelta(seconds=k)).isoformat()}\t{user_id}\t"
                      f"SRID=4326;POINT(119.885 28.455)\t10\tcopy\n")
        buf.seek(0)
        start = time.perf_counter()
        cur.copy_expert("COPY checkin (id, recorded_at, user_id, geom, accuracy_m, note) FROM STDIN", buf)
        conn.commit()
        elapsed = time.perf_counter() - start
    conn.close()
    return rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="50,100,200,300,400,600,800,1200")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2 + 1)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    args = parser.parse_args()
    url = bench_url(os.environ.get("DATABASE_URL", "postgresql://gridmap@127.0.0.1:54320/gridmap"), BENCH_DB)
    rates = [float(r) for r in args.rates.split(",")]
    log(f"preparing {url.split('@')[-1]}")
    token = prepare(url)
    engine = create_engine(sqlalchemy_url(url))
    port = free_port()
    server = start_server(url, port, args.workers)
    results = {"checkins": [], "health": []}
    try:
        best = {"checkins": 0.0, "health": 0.0}
        for rate in rates:
            tag = f"bench-{uuid.uuid4().hex[:8]}"
            r = open_loop(port, rate, args.seconds, checkin_request(token, tag))
            r["lost"] = r["sent"] - stored(engine, tag)
            r["held"] = held(r, r["lost"])
            results["checkins"].append(r)
            log(f"check-ins {rate:6.0f}/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
                f"errors {r['errors']}  lost {r['lost']}  {'held' if r['held'] else 'NOT held'}")
            if r["held"]:
                best["checkins"] = rate
            elif rate > 2 * max(best["checkins"], rates[0]):
                break
        for rate in rates:
            r = open_loop(port, rate, args.seconds, health_request)
            r["held"] = held(r)
            results["health"].append(r)
            log(f"healthz   {rate:6.0f}/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
                f"{'held' if r['held'] else 'NOT held'}")
            if r["held"]:
                best["health"] = rate
            elif rate > 2 * max(best["health"], rates[0]):
                break
        sync = batch_sync(port, token, args.batch_rows) if args.batch_rows else 0.0
        floor = copy_floor(url, args.batch_rows) if args.batch_rows else 0.0
    finally:
        stop_server(server)
        engine.dispose()
    ratio = best["checkins"] / best["health"] if best["health"] else 0.0
    print(f"\ncheck-ins held (p99 ≤ {P99_LIMIT_MS:.0f} ms, nothing lost): {best['checkins']:.0f}/s   (goal 400/s)")
    print(f"/healthz held (no database):                    {best['health']:.0f}/s")
    print(f"score (check-ins / healthz):                     {ratio:.2f}")
    if args.batch_rows:
        print(f"batch sync of {args.batch_rows:,} queued check-ins: {sync:,.0f} rows/s (goal 30,000)  "
              f"raw COPY floor {floor:,.0f} rows/s  ratio {sync / floor:.2f}")
    out = ROOT / ".gridmap" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"checkins-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"best": best, "ratio": ratio, "sync_rows_per_s": sync, "copy_rows_per_s": floor,
                                **results}, indent=1))
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
