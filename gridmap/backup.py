"""Backups with pg_dump / pg_restore (custom format: compressed, restorable in parallel).

The PostgreSQL client binaries of the server's major version are preferred
(/usr/lib/postgresql/<major>/bin), falling back to the ones on PATH.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from gridmap.db import sqlalchemy_url


class BackupError(RuntimeError):
    pass


def _binary(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client")
    return found


def _libpq_args(database_url: str) -> tuple[list[str], dict[str, str]]:
    url = make_url(sqlalchemy_url(database_url))
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432), "--username", url.username or "postgres",
            "--dbname", url.database or "postgres", "--no-password"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(result.stderr.strip() or f"{command[0]} failed with exit {result.returncode}")


def backup(database_url: str, path: Path) -> Path:
    args, env = _libpq_args(database_url)
    _run([_binary("pg_dump"), *args, "--format=custom", "--file", str(path)], env)
    return path


def restore(database_url: str, path: Path, jobs: int = 2) -> None:
    """Restore into ``database_url``, replacing objects that exist (--clean --if-exists)."""
    if not Path(path).is_file():
        raise BackupError(f"no backup at {path}")
    args, env = _libpq_args(database_url)
    _run([_binary("pg_restore"), *args, "--clean", "--if-exists", "--no-owner", f"--jobs={jobs}", str(path)], env)
