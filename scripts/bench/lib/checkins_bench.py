"""Check-in benchmark: the production server (gunicorn via ``flask serve``) on 127.0.0.1
and an open-loop load generator (fixed arrival rate, up to 64 connections, bounded in
time). After a warm-up (not counted: every worker's connections prepare their
statements) it sends single check-ins at rising rates (the listed ones, then on by a
quarter while held, up to ``--max-rate``), then the no-database ``/healthz`` alike;
a rate is *held* when p99 ≤ 100 ms (latency counted from the scheduled send time, so
queueing counts), every request succeeded and — for check-ins — every one is stored
exactly once. Prints the highest held rate of each and their ratio (the score).

The workers patrol a synthetic city (``citydata``: 3,000 Voronoi grids of 40-80 vertices
tiling 兰山区, Linyi), each in a grid of their own near the centre, walking lap after lap
along its border at insets of about 5, 30, 80 and 150 m, 4.5 m (3 s) a step: a quarter
of the positions lie within their accuracy of the neighbouring grid, as they do where
grids meet on the streets the workers walk.

Then the batch sync of 100,000 queued check-ins in batches of 500: over HTTP by
``--phones`` phones (each its own grid worker, sending its own queue one batch after
the other on one keep-alive connection, as the phone page does; the phones in
parallel), with the CPU time per row of the server, of PostgreSQL (the bench
database's backends) and of the load generator — the figure that does not depend on
what else the shared machine runs; against a raw COPY of the same number of rows into
``checkin``: the two in alternating rounds (``--rounds``, 3), the best round of each;
then through the service (``record_checkins`` in this process, one session).

``--big-table N`` compares insert rates (service path: batches of 500, and single
check-ins one after another) into an empty table and into one already holding N rows:
two fresh databases (``…_empty``, ``…_big``); the big one gets N synthetic check-ins
(with their idempotency keys, by 1,000 synthetic workers) in 21 past month partitions
(generate_series, ATTACH PARTITION builds their indexes; see ``load_big_table``), then
both are measured in alternating rounds, best of 3, each with its CPU time per row:
the ratio "big / empty" is the figure (goal ≥ 0.8).
The issue's figure is 50 million rows; ``--big-table 1000000`` is a routine run.
The bench database is dropped at the end unless ``--keep``.

  scripts/bench/checkins [--rates 100,200,300,400,500,600,800] [--max-rate 5000] [--seconds 4] [--batch-rows 100000]
                         [--phones 4] [--rounds 3] [--workers N] [--threads N] [--big-table N] [--only single,batch,big]
                         [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, text  # noqa: E402

from benchlib import (  # noqa: E402
    bench_url,
    checkpoint,
    ensure_database,
    load_city,
    log,
    start_server,
    stop_server,
    verdict,
)
from citydata import CENTRE, make_city  # noqa: E402
from openloop import build, open_loop  # noqa: E402
from gridmap.db import sqlalchemy_url  # noqa: E402
from gridmap.migrate import upgrade  # noqa: E402

BENCH_DB = "gridmap_bench_checkins"
P99_LIMIT_MS = 100.0
SINGLE_GOAL = 800.0  # single check-ins/s held (issue 20 item 5; issue 5's was 400)
COPY_SHARE_GOAL = 0.5  # issue 20: batch sync over HTTP at ≥ 0.5 × the raw COPY floor of the same run
CITY_GRIDS = 3_000  # grids tiling the synthetic district (~600 m across)
CITY_SEED = 20
INSETS = (0.00005, 0.0003, 0.0008, 0.0015)  # degrees inside the border, lap after lap (~5, 30, 80, 150 m)
STEP = 4.5 / 100_000  # a step of 3 s at 1.5 m/s, in degrees (near enough)


@dataclass
class Patrol:
    """One grid worker: their API token, their grid and the positions of their walk."""

    token: str
    grid: str
    path: np.ndarray  # (n, 2) lon/lat

    def position(self, k: int) -> tuple[float, float]:
        lon, lat = self.path[k % len(self.path)]
        return round(float(lon), 7), round(float(lat), 7)


def walk(polygon) -> np.ndarray:
    """One round of laps along the grid's border, one lap at each of ``INSETS``."""
    laps = []
    for inset in INSETS:
        ring = shapely.get_exterior_ring(shapely.buffer(polygon, -inset))
        laps.append(shapely.get_coordinates(shapely.line_interpolate_point(ring, np.arange(0, ring.length, STEP))))
    return np.concatenate(laps)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str, phones: int = 0) -> tuple[Patrol, list[Patrol]]:
    """Fresh schema, the synthetic city, one grid worker and ``phones`` more (the batch
    sync's phones), each in a grid of their own near the centre with 400 households."""
    ensure_database(url)
    engine = create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("DROP SCHEMA IF EXISTS checkin_part CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    city = make_city(CITY_GRIDS, CITY_SEED)
    load_city(url, city)
    from gridmap import create_app
    from gridmap.auth.service import create_user, issue_token
    from gridmap.config import Settings

    app = create_app(Settings(database_url=url, secret_key="bench"))
    session = app.extensions["gridmap.db"].session()
    central = np.argsort(shapely.distance(city.polygons, shapely.Point(*CENTRE)))[:phones + 1]
    patrols = []
    for k, g in enumerate(central):
        code = str(city.grids.code.iloc[g])
        session.execute(text("""
            INSERT INTO household (code, geom, grid_id)
            SELECT :prefix || n, p.geom, g.id
              FROM grid g, LATERAL ST_Dump(ST_GeneratePoints(g.geom, 400, 1)) WITH ORDINALITY AS p(path, geom, n)
             WHERE g.code = :code"""), {"prefix": f"B{k}-", "code": code})
        user = create_user(session, "bench-worker" if k == 0 else f"bench-phone-{k - 1}", "bench-password",
                           "grid_worker", code)
        patrols.append(Patrol(issue_token(session, user, 12)[0], code, walk(city.polygons[g])))
    session.commit()
    session.close()
    app.extensions["gridmap.db"].engine.dispose()
    return patrols[0], patrols[1:]


def checkin_request(worker: Patrol, tag: str):
    now = datetime.now(UTC)

    def make(k: int):
        lon, lat = worker.position(k)
        body = json.dumps({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}-{k}")), "lon": lon, "lat": lat,
                           "accuracy_m": 10, "recorded_at": (now + timedelta(milliseconds=k)).isoformat(),
                           "note": tag})
        return "POST", "/api/v1/checkins", body, {"Content-Type": "application/json",
                                                   "Authorization": f"Bearer {worker.token}"}
    return make


def health_request(k: int):
    return "GET", "/healthz", None, {}


def stored(engine, tag: str) -> int:
    with engine.connect() as c:
        return c.scalar(text("SELECT count(DISTINCT id) FROM checkin WHERE note = :t"), {"t": tag})


def held(result: dict, lost: int = 0) -> bool:
    return (result["errors"] == 0 and lost == 0 and result["answered"] == result["sent"]
            and result["p99_ms"] <= P99_LIMIT_MS)


def uuid7(at: datetime) -> str:
    """A UUIDv7 made at ``at``, as the phone page makes its check-in ids (static/js/outbox.js)."""
    raw = bytearray(int(at.timestamp() * 1000).to_bytes(6, "big") + os.urandom(10))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def sync_items(worker: Patrol, rows: int, batch: int = 500, start_at: datetime | None = None,
               ids: str = "v7") -> list[list[dict]]:
    """``rows`` queued check-ins of one worker along their walk, 3 s apart, in batches as a
    phone sends them; ids UUIDv7 as the phone page makes them, or random v4 ones
    (``ids="v4"``) as other clients may send."""
    t0 = start_at or datetime.now(UTC) - timedelta(days=1)
    times = [t0 + timedelta(seconds=k * 3) for k in range(rows)]
    where = [worker.position(k) for k in range(rows)]
    return [[{"id": uuid7(times[k]) if ids == "v7" else str(uuid.uuid4()), "lon": where[k][0],
              "lat": where[k][1], "accuracy_m": 15,
              "recorded_at": times[k].isoformat(), "note": "sync"}
             for k in range(s, min(rows, s + batch))] for s in range(0, rows, batch)]


def process_cpu(pid: int | str) -> tuple[float, int]:
    """CPU seconds (user + system) a process has used so far, and its process group."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[2])


def cpu_by_process(server: subprocess.Popen, database: str) -> dict[str, dict[int, float]]:
    """CPU seconds used so far, per process, by the server (its process group), by PostgreSQL's
    processes serving ``database`` (backends, autovacuum) and by this process (pid 0). A delta
    (``cpu_delta``) then counts only processes alive at its end (a
    backend that exits in between, such as the set-up's, would otherwise take its whole CPU time
    off PostgreSQL's figure)."""
    out: dict[str, dict[int, float]] = {"server": {}, "postgres": {}, "load generator": {0: time.process_time()}}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            used, group = process_cpu(pid)
        except OSError:
            continue
        if group == server.pid:
            out["server"][int(pid)] = used
        elif cmd.startswith("postgres") and database in cmd:
            out["postgres"][int(pid)] = used
    return out


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    return {part: sum(used - before[part].get(pid, 0.0) for pid, used in procs.items()) for part, procs in after.items()}


def sync_bodies(phones: list[Patrol], rows: int, start_at: datetime, batch: int = 500) -> list[list[str]]:
    """Every phone's queue as the request bodies it sends (built before the timing starts)."""
    return [[json.dumps({"items": items})
             for items in sync_items(phone, rows // len(phones) + (k < rows % len(phones)), batch, start_at)]
            for k, phone in enumerate(phones)]


def batch_sync(port: int, phones: list[Patrol], queues: list[list[str]], rows: int) -> float:
    """HTTP path: every phone (its own worker and token) sends its own queue batch after
    batch over its own keep-alive connection, as the phone page does (one request at a
    time); the phones send in parallel. Returns rows/s."""
    failures = [0]

    def phone(token: str, bodies: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for body in bodies:
            conn.request("POST", "/api/v1/checkins", body=body,
                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failures[0] += 1

    threads = [threading.Thread(target=phone, args=(p.token, q)) for p, q in zip(phones, queues)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures[0]:
        log(f"batch sync: {failures[0]} batches failed")
    return rows / elapsed


class Service:
    """The service path in this process: ``record_checkins`` on one session, as the view calls it."""

    def __init__(self, url: str, worker: Patrol):
        from gridmap import create_app
        from gridmap.auth.models import User
        from gridmap.auth.service import scope_of
        from gridmap.config import Settings

        self.url = url
        self.worker = worker
        self.app = create_app(Settings(database_url=url, secret_key="bench"))
        self.db = self.app.extensions["gridmap.db"]
        self.session = self.db.session()
        user = self.session.query(User).filter_by(username="bench-worker").one()
        self.scope = scope_of(user)
        self.backend = self.session.scalar(text("SELECT pg_backend_pid()"))
        self.session.commit()  # the pool hands this one connection back every time
        self.cpu_us = 0.0  # of the last run: CPU µs per row, this process and its backend

    def _cpu(self) -> float:
        return time.process_time() + process_cpu(self.backend)[0]

    def _run(self, work: list[list[dict]], rows: int) -> float:
        from gridmap.config import PatrolRules
        from gridmap.patrol.service import record_checkins
        rules = PatrolRules()
        cpu, start = self._cpu(), time.perf_counter()
        for items in work:
            if any(r["status"] != "created" for r in record_checkins(self.session, self.scope, items, rules=rules)):
                raise SystemExit("error: a check-in was not created")
        elapsed = time.perf_counter() - start
        self.cpu_us = (self._cpu() - cpu) / rows * 1e6
        return rows / elapsed

    def batches(self, rows: int, start_at: datetime | None = None, ids: str = "v7") -> float:
        return self._run(sync_items(self.worker, rows, start_at=start_at, ids=ids), rows)

    def singles(self, n: int, start_at: datetime | None = None, ids: str = "v7") -> float:
        return self._run(sync_items(self.worker, n, batch=1, start_at=start_at, ids=ids), n)

    def close(self) -> None:
        self.session.close()
        self.db.engine.dispose()


BIG_MONTHS = range(3, 24)  # months before the current one: 21 past partitions (the kept 24)


def load_big_table(url: str, rows: int, grid: str) -> dict:
    """N synthetic check-ins and their keys in past months, as fast as PostgreSQL loads them.

    Each month's partition is created, filled by ``generate_series`` and attached (which
    builds the partitioned table's indexes on it and validates its foreign keys) in one
    transaction; the keys of all of them go into ``checkin_key`` in one more transaction
    that empties it first (its rows so far are kept) and rebuilds its primary key and
    index once at the end. Under ``wal_level = minimal`` a table created or emptied in
    the same transaction is written without WAL, which halves the disk traffic.
    """
    import psycopg2

    from benchlib import libpq_url
    from gridmap.clock import add_months, this_month
    conn = psycopg2.connect(libpq_url(url))
    cur = conn.cursor()
    started = time.perf_counter()
    cur.execute("SET maintenance_work_mem = '1GB'")
    cur.execute("SET max_parallel_maintenance_workers = 2")
    cur.execute("""INSERT INTO app_user (username, password_hash, role, scope_code, display_name)
                   SELECT 'big-' || k, 'x', 'grid_worker', %s, 'big-' || k FROM generate_series(1, 1000) k
                   ON CONFLICT (username) DO NOTHING""", (grid,))
    cur.execute("SELECT min(id), max(id) FROM app_user WHERE username LIKE 'big-%%'")
    lo_user, hi_user = cur.fetchone()
    cur.execute("SELECT id, name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom) - ST_XMin(geom), "
                "ST_YMax(geom) - ST_YMin(geom) FROM grid WHERE code = %s", (grid,))
    grid_id, grid_name, x0, y0, width, height = cur.fetchone()
    cur.execute("SELECT count(*) FROM checkin")
    before = cur.fetchone()[0]
    conn.commit()
    months = [add_months(this_month(), -k) for k in BIG_MONTHS]
    per_month = [rows // len(months) + (1 if k < rows % len(months) else 0) for k in range(len(months))]
    names = []
    for month, n in zip(months, per_month):
        cur.execute("SELECT checkin_partition_name(%s)", (month,))
        name = cur.fetchone()[0]
        cur.execute("SELECT to_regclass(%s)", (f"checkin_part.{name}",))
        if cur.fetchone()[0] is not None:
            raise SystemExit(f"error: partition {name} exists already")
        cur.execute(f"CREATE TABLE checkin_part.{name} (LIKE public.checkin INCLUDING DEFAULTS)")
        cur.execute(f"""
            INSERT INTO checkin_part.{name} (id, recorded_at, user_id, grid_id, grid_version, geom, accuracy_m,
                                             received_at, household_id, note, flags)
            SELECT gen_random_uuid(), t, %(lo)s + k %% (%(hi)s - %(lo)s + 1), %(grid)s, 1,
                   ST_SetSRID(ST_MakePoint(%(x0)s + random() * %(w)s, %(y0)s + random() * %(h)s), 4326),
                   5 + 20 * random(), t, NULL, '', '{{}}'
              FROM generate_series(1, %(n)s) k,
                   -- spread over the month's first 28 days (seconds as float8: an interval
                   -- divided by n is rounded to the microsecond, n times that may overflow)
                   LATERAL (SELECT (%(m)s::timestamp AT TIME ZONE 'Asia/Shanghai')
                                   + make_interval(secs => (k - 0.5) * 2419200.0 / %(n)s) AS t) x
        """, {"lo": lo_user, "hi": hi_user, "grid": grid_id, "n": n, "m": month, "x0": x0, "y0": y0, "w": width,
              "h": height})
        lo = f"{month.isoformat()} 00:00:00+08"
        hi = f"{add_months(month, 1).isoformat()} 00:00:00+08"
        cur.execute(f"ALTER TABLE checkin ATTACH PARTITION checkin_part.{name} FOR VALUES FROM (%s) TO (%s)", (lo, hi))
        conn.commit()
        names.append(name)
        log(f"big table: {name} {n:,} rows ({time.perf_counter() - started:.0f} s)")
    # The keys: emptied and refilled in one transaction, without their indexes while loading
    # (put back as the migrations made them).
    cur.execute("SELECT pg_get_indexdef('ix_checkin_key_recorded_at'::regclass)")
    time_index = cur.fetchone()[0]
    cur.execute("CREATE TEMPORARY TABLE kept_keys AS SELECT * FROM checkin_key")
    cur.execute("TRUNCATE checkin_key")
    cur.execute("ALTER TABLE checkin_key DROP CONSTRAINT pk_checkin_key")
    cur.execute("DROP INDEX ix_checkin_key_recorded_at")
    cur.execute("INSERT INTO checkin_key SELECT * FROM kept_keys")
    for name in names:
        cur.execute(f"""
            INSERT INTO checkin_key (id, user_id, recorded_at, answer, received_at)
            SELECT id, user_id, recorded_at,
                   jsonb_build_object('id', id::text, 'status', 'created', 'grid', %(code)s, 'grid_name', %(name)s,
                                      'in_own_grid', true, 'position', 'inside', 'flags', '[]'::jsonb,
                                      'recorded_at', recorded_at::text, 'household_code', NULL), received_at
              FROM checkin_part.{name}
        """, {"code": grid, "name": grid_name})
    log(f"big table: keys loaded ({time.perf_counter() - started:.0f} s)")
    cur.execute("ALTER TABLE checkin_key ADD CONSTRAINT pk_checkin_key PRIMARY KEY (id)")
    cur.execute(time_index)
    conn.commit()
    log(f"big table: keys indexed ({time.perf_counter() - started:.0f} s)")
    conn.autocommit = True
    cur.execute("ANALYZE checkin_key")
    cur.execute("ANALYZE checkin")
    cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
    size = cur.fetchone()[0]
    conn.close()
    return {"rows_loaded": rows, "checkin_rows": before + rows, "load_seconds": time.perf_counter() - started,
            "database_size": size}


ID_KINDS = {"v7": "ids UUIDv7 (the phone page)", "v4": "ids random v4 (other clients)"}


def insert_rates(empty: Service, big: Service, batch_rows: int, singles: int, start_at: datetime,
                 rounds: int = 3) -> dict:
    """Service-path insert rates into the empty and the big database, measured in
    alternating rounds (whatever else the shared machine does falls on both alike):
    batches of 500 and single check-ins, with UUIDv7 and with random v4 ids; per case
    the best round's rows/s, and the CPU µs per row (this process and its backend) of
    that round."""
    out = {name: {f"{ids} {kind}{suffix}": 0.0 for ids in ID_KINDS for kind in ("batch", "single")
                  for suffix in ("", " cpu_us")} for name in ("empty", "big")}
    for service in (empty, big):
        service.singles(20, start_at=start_at - timedelta(hours=1))  # prepared statement, PostGIS/PROJ loaded
        checkpoint(service.url)  # the same state before both measurements (WAL full-page writes)
    for round_ in range(rounds):
        for k, ids in enumerate(ID_KINDS):
            at = start_at - timedelta(days=round_ * len(ID_KINDS) + k)  # a day each: 20,000 rows 3 s apart
            for kind, when in (("batch", at), ("single", at + timedelta(hours=18))):
                for name, service in (("empty", empty), ("big", big)):
                    if kind == "batch":
                        rate = service.batches(batch_rows, start_at=when, ids=ids)
                    else:
                        rate = service.singles(singles, start_at=when, ids=ids)
                    if rate > out[name][f"{ids} {kind}"]:
                        out[name][f"{ids} {kind}"], out[name][f"{ids} {kind} cpu_us"] = rate, service.cpu_us
        log(f"  round {round_ + 1}: " + "; ".join(
            f"{name} " + ", ".join(f"{case} {r[case]:,.0f}/s" for case in r if not case.endswith("cpu_us"))
            for name, r in out.items()))
    return out


def copy_floor(url: str, rows: int, worker: Patrol, start_at: datetime) -> tuple[float, float]:
    """Raw COPY of the same number of check-in rows from ``start_at`` on (the month partition
    the HTTP round beside it wrote to): the floor for the batch sync. Their ids are UUIDv7 made
    at each row's time, as the phones' (random v4 ids, used until 5 Dec 2026, scatter the
    primary key's inserts and made the floor slower the bigger the partition).
    Returns rows/s and the CPU µs per row of the backend that ran it (the rows' text
    is built before, as the phones' bodies are)."""
    import psycopg2

    from benchlib import libpq_url
    conn = psycopg2.connect(libpq_url(url))
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM app_user LIMIT 1")
        user_id = cur.fetchone()[0]
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
        buf = io.StringIO()
        for k in range(rows):
            at = start_at + timedelta(seconds=k)
            buf.write(f"{uuid7(at)}\t{at.isoformat()}\t{user_id}\t"
                      "SRID=4326;POINT({} {})\t10\tcopy\n".format(*worker.position(k)))
        buf.seek(0)
        cpu = process_cpu(backend)[0]
        start = time.perf_counter()
        cur.copy_expert("COPY checkin (id, recorded_at, user_id, geom, accuracy_m, note) FROM STDIN", buf)
        conn.commit()
        elapsed = time.perf_counter() - start
        cpu_us = (process_cpu(backend)[0] - cpu) / rows * 1e6
    conn.close()
    return rows / elapsed, cpu_us


def warm_up(port: int, worker: Patrol, seconds: float = 3.0) -> None:
    """Every worker thread's first check-in prepares the statement on its connection
    and loads PostGIS/PROJ: a server in service is warm, so this is not counted."""
    open_loop(port, 60, build(checkin_request(worker, "warm-up"), 60, seconds / 2))
    open_loop(port, 300, build(checkin_request(worker, "warm-up-2"), 300, seconds / 2))  # opens the pools' connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="100,200,300,400,500,600,800")
    parser.add_argument("--max-rate", type=float, default=5000.0,
                        help="past the last of --rates, the ramp goes on by a quarter while held, up to this")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: serve's default)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (default: serve's default)")
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--phones", type=int, default=4, help="batch sync: phones sending their queues in parallel")
    parser.add_argument("--rounds", type=int, default=3, help="batch sync: HTTP and COPY rounds, alternating; best of each")
    parser.add_argument("--big-table", type=int, default=0, metavar="N",
                        help="also compare insert rates into an empty table and one holding N rows")
    parser.add_argument("--big-batch-rows", type=int, default=20_000)
    parser.add_argument("--big-singles", type=int, default=1_000)
    parser.add_argument("--only", default="single,batch,big", help="parts to run (single, batch, big)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (dropped at the end otherwise)")
    args = parser.parse_args()
    url = bench_url(os.environ.get("DATABASE_URL", "postgresql://gridmap@127.0.0.1:54320/gridmap"), BENCH_DB)
    try:
        run(args, url)
    finally:
        if args.keep:
            log(f"kept {url.split('@')[-1]} (and _empty, _big with --big-table)")
        else:
            drop_database(url)


def drop_database(url: str) -> None:
    """Drop the bench database (with --big-table it holds tens of GB)."""
    import psycopg2

    from benchlib import libpq_url
    conn = psycopg2.connect(libpq_url(bench_url(url, "postgres")))
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in (BENCH_DB, BENCH_DB + "_empty", BENCH_DB + "_big"):
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    conn.close()
    log(f"dropped {BENCH_DB}, {BENCH_DB}_empty, {BENCH_DB}_big")


def run(args: argparse.Namespace, url: str) -> None:
    parts = set(args.only.split(","))
    rates = [float(r) for r in args.rates.split(",")]
    from gridmap.cli import serve_command
    defaults = {p.name: p.default for p in serve_command.params}
    workers = args.workers or defaults["workers"]
    threads = args.threads or defaults["threads"]
    load_start = os.getloadavg()
    log(f"preparing {url.split('@')[-1]}; load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    worker, phones = prepare(url, args.phones)
    engine = create_engine(sqlalchemy_url(url))
    results: dict = {"args": vars(args), "workers": workers, "threads": threads, "checkins": [], "health": [],
                     "load_start": list(load_start)}
    best = {"checkins": 0.0, "health": 0.0}
    best_cpu: dict[str, dict[str, float]] = {"checkins": {}, "health": {}}  # CPU ms per request at the best held rate
    sync = service_sync = floor = floor_cpu = 0.0
    sync_cpu: dict[str, float] = {}
    big: dict = {}
    service = Service(url, worker)
    past = datetime.now(UTC) - timedelta(days=2)
    port = free_port()
    server = start_server(url, port, "--workers", str(workers), "--threads", str(threads))
    try:
        if "single" in parts:
            warm_up(port, worker)

            def ramp(kind: str, label: str, request_and_lost) -> None:
                """Each rate in turn until one is held no longer (and twice the best is passed);
                past the last one, on by a quarter while held (up to --max-rate), so that
                neither figure is merely the top of the list."""
                todo = list(rates)
                while todo:
                    rate = todo.pop(0)
                    make_request, lost = request_and_lost()
                    wire = build(make_request, rate, args.seconds)
                    before = cpu_by_process(server, BENCH_DB)
                    r = open_loop(port, rate, wire)
                    used = cpu_delta(before, cpu_by_process(server, BENCH_DB))
                    r["cpu_ms"] = {part: seconds / max(r["answered"], 1) * 1000 for part, seconds in used.items()}
                    r["lost"] = lost(r)
                    r["held"] = held(r, r["lost"])
                    results[kind].append(r)
                    log(f"{label:9} {rate:6.0f}/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
                        f"errors {r['errors']}  lost {r['lost']}  {'held' if r['held'] else 'NOT held'}  CPU ms/request: "
                        + ", ".join(f"{part} {ms:.2f}" for part, ms in r["cpu_ms"].items())
                        + f"; load {os.getloadavg()[0]:.1f}")
                    if r["held"]:
                        best[kind] = rate
                        best_cpu[kind] = r["cpu_ms"]
                        if not todo and rate < args.max_rate:
                            todo.append(min(args.max_rate, round(rate * 1.25 / 50) * 50))
                    elif rate > 2 * max(best[kind], rates[0]):
                        break

            def checkins():
                tag = f"bench-{uuid.uuid4().hex[:8]}"
                return checkin_request(worker, tag), lambda r: r["sent"] - stored(engine, tag)

            ramp("checkins", "check-ins", checkins)
            ramp("health", "healthz", lambda: (health_request, lambda r: 0))
        if "batch" in parts and args.batch_rows:
            # not counted: every phone's first request (its connections prepare the statement)
            batch_sync(port, phones, sync_bodies(phones, 50 * args.phones, past - timedelta(days=1)),
                       50 * args.phones)
            # HTTP and COPY in alternating rounds, the best of each (a round's figure moves by
            # ±5% with what else the machine does; both alike); each round's queues on days of
            # their own, away from the service path's
            for round_ in range(args.rounds):
                start_at = past + timedelta(days=1 - 5 * round_)
                queues = sync_bodies(phones, args.batch_rows, start_at)
                checkpoint(url, vacuum=("checkin", "checkin_key"))  # the last round's rows: not autovacuumed in this one
                before = cpu_by_process(server, BENCH_DB)
                rate = batch_sync(port, phones, queues, args.batch_rows)
                used = cpu_delta(before, cpu_by_process(server, BENCH_DB))
                log(f"round {round_ + 1}: batch sync over HTTP {rate:,.0f} rows/s")
                if rate > sync:
                    sync, sync_cpu = rate, {k: v / args.batch_rows * 1e6 for k, v in used.items()}
                checkpoint(url, vacuum=("checkin", "checkin_key"))
                rate, cpu_us = copy_floor(url, args.batch_rows, worker, start_at)
                log(f"round {round_ + 1}: raw COPY {rate:,.0f} rows/s")
                if rate > floor:
                    floor, floor_cpu = rate, cpu_us
    finally:
        stop_server(server)
    if "batch" in parts and args.batch_rows:
        checkpoint(url, vacuum=("checkin", "checkin_key"))
        service_sync = service.batches(args.batch_rows, start_at=past - timedelta(days=3))
        log(f"batch sync through the service: {service_sync:,.0f} rows/s")
    if args.big_table and "big" in parts:
        # two fresh databases: the empty one and the one loaded with N rows
        empty_url, big_url = bench_url(url, BENCH_DB + "_empty"), bench_url(url, BENCH_DB + "_big")
        empty_worker, _ = prepare(empty_url)
        big_worker, _ = prepare(big_url)
        log(f"loading {args.big_table:,} check-ins into past months")
        big["load"] = load_big_table(big_url, args.big_table, big_worker.grid)
        log(f"  loaded in {big['load']['load_seconds']:.0f} s; database {big['load']['database_size']}")
        empty_service, big_service = Service(empty_url, empty_worker), Service(big_url, big_worker)
        log("insert rates, empty and big database in alternating rounds (service path)")
        big.update(insert_rates(empty_service, big_service, args.big_batch_rows, args.big_singles, past))
        empty_service.close()
        big_service.close()
    service.close()
    engine.dispose()
    load_end = os.getloadavg()
    ratio = best["checkins"] / best["health"] if best["health"] else 0.0
    print(f"\nserver: gunicorn gthread, {workers} workers x {threads} threads; "
          f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end ({os.cpu_count()} CPUs)")
    if "single" in parts:
        print(f"check-ins held (p99 ≤ {P99_LIMIT_MS:.0f} ms, nothing lost): {best['checkins']:.0f}/s   "
              f"goal {SINGLE_GOAL:.0f}/s: {verdict(best['checkins'] >= SINGLE_GOAL)}")
        print(f"/healthz held (no database):                    {best['health']:.0f}/s")
        print(f"score (check-ins / healthz):                     {ratio:.2f}")
        for kind, label in (("checkins", "check-in"), ("health", "/healthz request")):
            # at the best held rate; none held: at the first rate tried
            at, cpu = (best[kind], best_cpu[kind]) if best_cpu[kind] else (results[kind][0]["rate"], results[kind][0]["cpu_ms"])
            if cpu:
                print(f"CPU ms per {label} at {at:.0f}/s: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
                      + f"; total {sum(cpu.values()):.2f} ({os.cpu_count()} cores: {os.cpu_count() * 1000 / sum(cpu.values()):,.0f}/s"
                      " if nothing else ran)")
    if "batch" in parts and args.batch_rows:
        goal = COPY_SHARE_GOAL * floor
        print(f"batch sync of {args.batch_rows:,} queued check-ins (batches of 500), "
              f"goal {COPY_SHARE_GOAL}x the raw COPY floor:")
        print(f"  HTTP ({args.phones} phones in parallel): {sync:,.0f} rows/s   HTTP / COPY {sync / floor:.2f}  "
              f"(goal {COPY_SHARE_GOAL}: {goal:,.0f} rows/s)  {verdict(sync >= goal)}")
        print(f"  service path (one session):    {service_sync:,.0f} rows/s")
        print(f"  raw COPY floor:                {floor:,.0f} rows/s   (PostgreSQL {floor_cpu:.1f} µs CPU per row)")
        total = sum(sync_cpu.values())
        print("  HTTP path CPU per row: " + ", ".join(f"{k} {v:.1f} µs" for k, v in sync_cpu.items())
              + f"; total {total:.1f} µs (the share of the {os.cpu_count()} cores the run got shows in the load average)")
        if total:
            print(f"  CPU per row, COPY / HTTP path (load aside, {os.cpu_count()} cores for the phones, one for COPY): "
                  f"{floor_cpu / total:.2f}; x{os.cpu_count()} = {os.cpu_count() * floor_cpu / total:.2f}")
    if big.get("big"):
        e, b = big["empty"], big["big"]
        print(f"insert rate with {big['load']['checkin_rows']:,} rows in checkin (loaded {big['load']['rows_loaded']:,} "
              f"in {big['load']['load_seconds']:.0f} s, database {big['load']['database_size']}) vs empty, service path "
              "(best of 3 alternating rounds; CPU µs per row of this process and its backend):")
        for ids, ids_label in ID_KINDS.items():
            print(f"  {ids_label}:")
            for kind, label in (("batch", "batches of 500"), ("single", "single check-ins")):
                case = f"{ids} {kind}"
                r = b[case] / e[case] if e[case] else 0.0
                print(f"    {label:17s} empty {e[case]:8,.0f} rows/s ({e[case + ' cpu_us']:4.0f} µs)  "
                      f"big {b[case]:8,.0f} rows/s ({b[case + ' cpu_us']:4.0f} µs)  ratio {r:.2f}  {verdict(r >= 0.8)}")
    results.update({"best": best, "best_cpu_ms": best_cpu, "ratio": ratio, "sync_rows_per_s": sync, "service_sync_rows_per_s": service_sync,
                    "copy_rows_per_s": floor, "copy_cpu_us_per_row": floor_cpu, "sync_cpu_us_per_row": sync_cpu, "big": big, "load_end": list(load_end)})
    out = ROOT / ".gridmap" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"checkins-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
