"""The private PostgreSQL cluster as scripts/db makes it: which one the tests run against,
and throwaway clusters made by the same script in a temporary directory (GRIDMAP_DB_DIR),
so a test proves the settings scripts/db really writes, not a copy of them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
DB_SCRIPT = ROOT / "scripts" / "db"


def private_state() -> Path:
    """Where scripts/db keeps the private cluster's port and password files."""
    return Path(os.environ.get("GRIDMAP_DB_DIR") or ROOT / ".gridmap")


def on_private_cluster(url: str) -> bool:
    """Does ``url`` point at this checkout's private cluster (127.0.0.1 and its port)? False
    for an external DATABASE_URL, whose settings are its operator's business."""
    port_file = private_state() / "port"
    if not port_file.is_file():
        return False
    parts = urlsplit(url)
    return parts.hostname in ("127.0.0.1", "localhost") and str(parts.port) == port_file.read_text().strip()


class ThrowawayCluster:
    """A cluster of its own, made and run by scripts/db with GRIDMAP_DB_DIR set: the same
    initdb options, gridmap.conf and pg_hba.conf as the private cluster."""

    def __init__(self) -> None:
        # Under /tmp itself: the cluster owner (gridmap-pg when root) must traverse it, and
        # the socket path must stay short.
        self.dir = Path(tempfile.mkdtemp(prefix="gridmap-cluster-", dir="/tmp"))
        self.dir.chmod(0o755)
        self.passfile = self.dir / "pgpass"

    def db(self, *args: str) -> str:
        env = {**os.environ, "GRIDMAP_DB_DIR": str(self.dir)}
        result = subprocess.run([str(DB_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"scripts/db {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def start(self) -> None:
        self.db("start")

    def crash(self) -> None:
        """Stop as a crash would: no shutdown checkpoint, nothing flushed on the way out."""
        self.db("stop", "--immediate")

    def url(self, database: str = "gridmap") -> str:
        """The database's URL naming the cluster's password file (libpq ``passfile``)."""
        base = self.db("url").rsplit("/", 1)[0]
        return f"{base}/{database}?passfile={self.passfile}"

    def pgdata(self) -> Path:
        return self.dir / "pgdata"

    def destroy(self) -> None:
        try:
            self.db("destroy")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
