"""Shared helpers for scripts/bench/*: the bench database, loading a synthetic city,
timing, and printing/saving results.

Rule of the project: a benchmark prints its figures as ratios against a baseline
measured in the same run (never absolute timed assertions).
"""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np
import psycopg2
import shapely
from psycopg2 import errors as pg_errors
from psycopg2 import sql
from psycopg2.extensions import make_dsn, parse_dsn
from sqlalchemy import create_engine, text

from gridmap.db import sqlalchemy_url
from gridmap.migrate import upgrade

BENCH_DB = "gridmap_bench"
RESULTS_DIR = ROOT / ".gridmap" / "bench"


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


# --- database -------------------------------------------------------------------------

def bench_url(database_url: str, name: str = BENCH_DB) -> str:
    """``database_url`` with the database name replaced (same server, user, options)."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/" + name))


def libpq_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + "://" + rest if sep and "+" in scheme else url


def ensure_database(url: str) -> None:
    """Create the database (UTF-8, from template0) and its postgis extension if missing."""
    dsn = libpq_url(url)
    name = parse_dsn(dsn)["dbname"]
    for maint_db in ("postgres", "template1"):
        try:
            conn = psycopg2.connect(make_dsn(dsn, dbname=maint_db, connect_timeout=15))
            break
        except psycopg2.OperationalError:
            continue
    else:
        raise SystemExit(f"error: cannot reach the maintenance database of {url.split('@')[-1]}")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            try:
                cur.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0")
                            .format(sql.Identifier(name)))
                log(f"created database {name}")
            except pg_errors.DuplicateDatabase:
                pass
    conn.close()


def fresh_schema(url: str) -> None:
    """Drop and recreate schema public, then migrate to head (as tests/conftest.py does)."""
    engine = create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("SET client_min_messages = warning"))
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)


def raw_connect(url: str):
    conn = psycopg2.connect(libpq_url(url))
    conn.autocommit = True
    return conn


def checkpoint(url: str, vacuum: tuple[str, ...] = ()) -> None:
    """CHECKPOINT so one measured stage's writes do not bill the next; first ``VACUUM (ANALYZE)``
    of the tables it wrote, which autovacuum would otherwise do during the next stage (the
    assign floor's 5 M rows were vacuumed while the product import ran)."""
    conn = raw_connect(url)
    try:
        with conn.cursor() as cur:
            for table in vacuum:
                cur.execute(f"VACUUM (ANALYZE) {table}")
            try:
                cur.execute("CHECKPOINT")
            except psycopg2.Error:  # not superuser: nothing to do
                pass
    finally:
        conn.close()


def copy_rows(cursor, table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY python tuples (already text-safe: no tabs/newlines/backslashes) into a table."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def multipolygon_hex(polygons: np.ndarray) -> list[str]:
    """Hex EWKB (SRID 4326) MULTIPOLYGONs, as COPY accepts for a geometry column."""
    multi = np.array([shapely.MultiPolygon([p]) if p.geom_type == "Polygon" else p for p in polygons],
                     dtype=object)
    return shapely.to_wkb(shapely.set_srid(multi, 4326), hex=True, include_srid=True).tolist()


def load_city(url: str, city) -> None:
    """Admin units, grids and their version-1 rows straight through COPY (bench set-up)."""
    conn = raw_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            units = [(1, city.district[0], city.district[1], "district", None)]
            units += [(int(r.id), r.code, r.name, "street", 1) for r in city.streets.itertuples()]
            units += [(int(r.id), r.code, r.name, "community", int(r.street_id))
                      for r in city.communities.itertuples()]
            copy_rows(cur, "admin_unit", ["id", "code", "name", "level", "parent_id"], units)
            geoms = multipolygon_hex(city.polygons)
            grids = [(int(r.id), r.code, r.name, int(r.community_id), "map", g)
                     for r, g in zip(city.grids.itertuples(), geoms)]
            copy_rows(cur, "grid", ["id", "code", "name", "community_id", "kind", "geom"], grids)
            cur.execute("INSERT INTO grid_version (grid_id, version, geom) SELECT id, version, geom FROM grid")
            cur.execute("SELECT setval('admin_unit_id_seq', (SELECT max(id) FROM admin_unit))")
            cur.execute("SELECT setval('grid_id_seq', (SELECT max(id) FROM grid))")
            cur.execute("COMMIT")
            cur.execute("VACUUM ANALYZE admin_unit")
            cur.execute("VACUUM ANALYZE grid")
            cur.execute("VACUUM ANALYZE grid_version")
    finally:
        conn.close()


# --- timing ---------------------------------------------------------------------------

class Stopwatch:
    """Named laps: ``with sw.lap("parse"): ...``; ``sw.laps`` maps name -> seconds."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}

    @contextmanager
    def lap(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.laps[name] = self.laps.get(name, 0.0) + time.perf_counter() - start

    @property
    def total(self) -> float:
        return sum(self.laps.values())


class StageClock:
    """A ``progress(stage, done, total)`` callback that records when each call happened."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.events: list[tuple[str, int, int, float]] = []

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.events.append((stage, done, total, time.perf_counter() - self.start))


def percentiles(samples: list[float], qs=(50, 95, 99)) -> dict[str, float]:
    arr = np.asarray(samples, dtype=float)
    return {f"p{q}": float(np.percentile(arr, q)) for q in qs}


# --- reporting ------------------------------------------------------------------------

def fmt_int(n: float | None) -> str:
    return "" if n is None else f"{round(n):,}"


def fmt_s(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.2f}"


def verdict(ok: bool) -> str:
    return "goal met" if ok else "goal missed"


class Table:
    """A plain text table: label, seconds, rows/s, note."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, label: str, seconds: float | None = None, rows_per_s: float | None = None, note: str = "") -> None:
        self.rows.append((label, fmt_s(seconds), fmt_int(rows_per_s), note))

    def section(self, title: str) -> None:
        self.rows.append(("", "", "", ""))
        self.rows.append((title, "", "", ""))

    def render(self) -> str:
        def width(s: str) -> int:  # CJK characters take two columns
            return sum(2 if ord(c) > 0x2E80 else 1 for c in s)

        def pad(s: str, n: int, right: bool = False) -> str:
            fill = " " * max(0, n - width(s))
            return fill + s if right else s + fill

        data = [r for r in self.rows if r[1] or r[2] or r[3]] + [("", "seconds", "rows/s", "")]
        w = [max(width(r[i]) for r in data) for i in range(3)]
        lines = [pad("", w[0]) + "  " + pad("seconds", w[1], True) + "  " + pad("rows/s", w[2], True)]
        for label, secs, rate, note in self.rows:
            if not secs and not rate and not note:
                lines.append(label)
                continue
            lines.append(f"{pad(label, w[0])}  {pad(secs, w[1], True)}  {pad(rate, w[2], True)}  {note}".rstrip())
        return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count()}
    try:
        info["loadavg_1_5_15"] = list(os.getloadavg())
    except OSError:
        pass
    return info


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=float) + "\n", encoding="utf-8")
    return path


def start_server(url: str, port: int, *serve_args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``flask serve`` (gunicorn) on 127.0.0.1:``port`` against ``url``, in its own process group,
    once /healthz answers; ``serve_args`` and ``env`` add to the command and the environment."""
    environ = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "gridmap", "serve", "--host", "127.0.0.1",
                             "--port", str(port), *serve_args], cwd=ROOT, env=environ, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"error: the server did not start on port {port}")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
