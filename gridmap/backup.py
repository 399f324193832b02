"""Backups with pg_dump / pg_restore (custom format: compressed, restorable in parallel).

A backup file is readable by its owner only (mode 0600) and appears whole or not at all:
pg_dump writes a 0600 temporary file beside PATH, which is flushed to disk and renamed
over PATH (an existing file is replaced).

A restore never touches the live database before the backup has restored completely. It
goes into a new database ``<name>_restore_<stamp>``; only when pg_restore succeeded
(--exit-on-error) and the result holds a gridmap schema, the live database is renamed to
``<name>_before_<stamp>`` (kept, for the operator to drop) and the new one takes its
name, in one transaction. Renaming a database needs it free of sessions: the live one
stops accepting connections and its sessions are ended just for the swap (the server's
pools reconnect to the restored database). A corrupt, truncated or foreign file, or a
pg_restore failing halfway, drops the new database and leaves the old one serving as it
was. (The alternative, ``--single-transaction --clean`` into the live database, also
rolls back on failure, but holds exclusive locks on every table for the whole restore,
cannot run in parallel, and leaves objects newer than the dump mixed into the result.)
The database user needs CREATEDB and must own the database (the private cluster's
superuser does).

The PostgreSQL client binaries of the server's major version are preferred
(/usr/lib/postgresql/<major>/bin), falling back to the ones on PATH.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from gridmap.db import sqlalchemy_url

# How long the swap waits for the live database's sessions to end.
SWAP_SECONDS = 10.0


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Restored:
    database: str           # the live name, now holding the backup
    previous: str | None    # the name the replaced database is kept under (None: there was none)
    ended_sessions: int     # sessions of the replaced database ended for the swap


def _binary(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client")
    return found


def _url(database_url: str) -> URL:
    return make_url(sqlalchemy_url(database_url))


def _libpq_args(url: URL) -> tuple[list[str], dict[str, str]]:
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432), "--username", url.username or "postgres",
            "--dbname", url.database or "postgres", "--no-password"]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(result.stderr.strip() or f"{command[0]} failed with exit {result.returncode}")


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(database_url: str, path: Path) -> Path:
    path = Path(path)
    args, env = _libpq_args(_url(database_url))
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)  # mode 0600
    except OSError as error:
        raise BackupError(f"cannot write in {path.parent}: {error.strerror}") from None
    os.close(fd)
    partial = Path(name)
    try:
        _run([_binary("pg_dump"), *args, "--format=custom", "--file", str(partial)], env)
        _fsync(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    _fsync(path.parent, directory=True)
    return path


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _exists(admin: Connection, name: str) -> bool:
    return admin.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is not None


def _create_like(admin: Connection, name: str, like: str) -> None:
    """An empty database with the encoding and locale of ``like`` (when it exists)."""
    row = admin.execute(text("SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
                             "WHERE datname = :n"), {"n": like}).first()
    options = " ENCODING 'UTF8'" if row is None else (
        f" ENCODING {_literal(row[0])} LC_COLLATE {_literal(row[1])} LC_CTYPE {_literal(row[2])}")
    admin.exec_driver_sql(f"CREATE DATABASE {_quote(admin, name)} TEMPLATE template0{options}")


def _drop(admin: Connection, name: str) -> None:
    admin.exec_driver_sql(f"DROP DATABASE IF EXISTS {_quote(admin, name)} WITH (FORCE)")


def _check_gridmap_schema(url: URL) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            version = connection.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL"))
    finally:
        engine.dispose()
    if not version:
        raise BackupError("the file restored, but it is not a gridmap backup (no alembic_version table)")


def _swap(admin: Connection, live: str, staging: str, previous: str) -> int:
    """Rename ``live`` to ``previous`` and ``staging`` to ``live`` in one transaction;
    returns how many of the live database's sessions were ended for it."""
    q_live, q_staging, q_previous = (_quote(admin, n) for n in (live, staging, previous))
    admin.exec_driver_sql(f"ALTER DATABASE {q_live} WITH ALLOW_CONNECTIONS false")
    ended = 0
    swapped = False
    try:
        deadline = time.monotonic() + SWAP_SECONDS
        while not swapped:
            ended += admin.scalar(text("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": live})
            try:
                # One query string of two statements runs as one (implicit) transaction.
                admin.exec_driver_sql(f"ALTER DATABASE {q_live} RENAME TO {q_previous}; "
                                      f"ALTER DATABASE {q_staging} RENAME TO {q_live}")
                swapped = True
            except DBAPIError as error:
                # 55006: a session (ended just now, or a new one of a superuser) is still there.
                if getattr(error.orig, "pgcode", None) != "55006" or time.monotonic() > deadline:
                    raise BackupError(f"could not swap in the restored database: {error.orig}") from None
                time.sleep(0.1)
    finally:
        admin.exec_driver_sql(f"ALTER DATABASE {q_previous if swapped else q_live} WITH ALLOW_CONNECTIONS true")
    return ended


def restore(database_url: str, path: Path, jobs: int = 2) -> Restored:
    """Replace the database of ``database_url`` by the backup at ``path`` (see the module
    docstring); on any failure the database is left as it was and BackupError raised."""
    if not Path(path).is_file():
        raise BackupError(f"no backup at {path}")
    url = _url(database_url)
    live = url.database or "postgres"
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    staging, previous = f"{live[:40]}_restore_{stamp}", f"{live[:40]}_before_{stamp}"
    admin_engine = create_engine(url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as admin:
            _create_like(admin, staging, live)
            try:
                args, env = _libpq_args(url.set(database=staging))
                _run([_binary("pg_restore"), *args, "--exit-on-error", "--no-owner", f"--jobs={jobs}", str(path)], env)
                _check_gridmap_schema(url.set(database=staging))
                if not _exists(admin, live):
                    admin.exec_driver_sql(f"ALTER DATABASE {_quote(admin, staging)} RENAME TO {_quote(admin, live)}")
                    return Restored(live, None, 0)
                ended = _swap(admin, live, staging, previous)
            except BaseException:
                _drop(admin, staging)
                raise
    finally:
        admin_engine.dispose()
    return Restored(live, previous, ended)
