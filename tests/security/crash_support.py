"""The crash test's moving parts: the production server (``scripts/gridmap serve``, gunicorn)
on 127.0.0.1 against a throwaway cluster, and phones that post check-ins and remember
every id the server acknowledged."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from gridmap.db import sqlalchemy_url
from gridmap.migrate import upgrade
from tests.conftest import TEST_DATABASE_URL
from tests.security.cluster_support import ROOT

GRIDMAP = ROOT / "scripts" / "gridmap"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A migrated database of its own on the test cluster (per xdist worker, as the test
    database is), dropped afterwards; yields its URL."""
    name = f"{name}_{TEST_DATABASE_URL.rpartition('/')[2]}"
    admin = create_engine(sqlalchemy_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        url = f"{TEST_DATABASE_URL.rpartition('/')[0]}/{name}"
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def gridmap_env(database_url: str) -> dict[str, str]:
    """scripts/gridmap's environment for a database other than the private cluster's."""
    return {**os.environ, "DATABASE_URL": database_url, "TEST_DATABASE_URL": database_url,
            "SECRET_KEY": "crash-test", "GRIDMAP_SKIP_APT": "1"}


class Server:
    """``scripts/gridmap serve`` (gunicorn, 2 workers x 4 threads) in its own process group."""

    def __init__(self, database_url: str, workers: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(GRIDMAP), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
             "--threads", "4"],
            env=gridmap_env(database_url), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not start within 60 s")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Phone(threading.Thread):
    """Posts check-ins in a closed loop, ``batch`` at a time (1: the single-item body), until
    stopped; ``acked`` holds (monotonic time, id) of every item answered created or duplicate."""

    def __init__(self, port: int, token: str, batch: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.token, self.batch, self.stop = port, token, batch, stop
        self.acked: list[tuple[float, str]] = []
        self.failed = 0

    def _items(self) -> list[dict]:
        now = datetime.now(UTC).isoformat()
        return [{"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.455, "accuracy_m": 10, "recorded_at": now,
                 "note": "crash test"} for _ in range(self.batch)]

    def _acknowledged(self, status: int, body: bytes, items: list[dict]) -> list[str]:
        if self.batch == 1:
            return [items[0]["id"]] if status in (200, 201) else []
        if status not in (200, 207):
            return []
        return [r["id"] for r in json.loads(body)["items"] if r["status"] in ("created", "duplicate")]

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        while not self.stop.is_set():
            items = self._items()
            body = json.dumps(items[0] if self.batch == 1 else {"items": items})
            try:
                connection.request("POST", "/api/v1/checkins", body=body, headers=headers)
                response = connection.getresponse()
                status, answer = response.status, response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                status, answer = 0, b""
            ids = self._acknowledged(status, answer, items)
            at = time.monotonic()
            self.acked.extend((at, i) for i in ids)
            if not ids:
                self.failed += 1
                time.sleep(0.05)        # the database is down: do not spin
        connection.close()
