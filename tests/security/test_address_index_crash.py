"""A city's first large household import over HTTP on the production server (gunicorn): the
answer comes first and the address trigram index is built after it; a server killed while
that build waits leaves the index missing, never half-built, and ``db upgrade`` builds it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import psycopg2
import pytest
import requests

import gridmap.models  # noqa: F401  (every model, for the factories)
from gridmap.db import Database
from gridmap.households.writes import BULK_REBUILD_MIN_ROWS
from tests import factories as f
from tests.security.cluster_support import ROOT
from tests.security.crash_support import GRIDMAP, Server, gridmap_env, scratch_database

ROWS = BULK_REBUILD_MIN_ROWS + 1_000  # a first large load
INDEX_STATE = ("SELECT to_regclass('ix_household_address_trgm') IS NOT NULL,"
               " (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('ix_household_address_trgm'))")
BUILT = ("SELECT EXISTS (SELECT FROM pg_index"
         " WHERE indexrelid = to_regclass('ix_household_address_trgm') AND indisvalid)")


def _csv() -> bytes:
    rows = "".join(f"IDX-{i},丽水市莲都区人民街{i}号,119.{880 + i % 40},28.{450 + i % 10}\n" for i in range(ROWS))
    return ("户号,地址,经度,纬度\n" + rows).encode()


@pytest.fixture
def scratch():
    """A migrated database of its own with the Lishui grids and an administrator's token."""
    with scratch_database("gridmap_address_index") as url:
        database = Database(url)
        with database.session() as session:
            f.lishui(session)
            token = f.token_for(session, "admin")
            session.commit()
        database.engine.dispose()
        yield url, token


def _wait_for(cursor, sql: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cursor.execute(sql)
        if cursor.fetchone()[0]:
            return
        time.sleep(0.02)
    raise AssertionError(f"still not true after {timeout} s: {sql}")


def _import(server: Server, token: str, answers: list) -> None:
    answers.append(requests.post(f"{server.url}/api/v1/imports/households", headers=f.auth(token),
                                 files={"file": ("户.csv", _csv())}, timeout=120))


def test_the_answer_comes_before_the_index_which_a_crash_leaves_missing_for_db_upgrade(scratch):
    url, token = scratch
    watcher = psycopg2.connect(url)
    watcher.autocommit = True
    holder = psycopg2.connect(url)
    server = Server(url, workers=1)
    try:
        with watcher.cursor() as watch, holder.cursor() as hold:
            answers: list = []
            importing = threading.Thread(target=_import, args=(server, token, answers))
            importing.start()
            # While the import holds household, queue a writer's lock behind it: granted at the
            # import's commit, it makes the index build that follows the answer wait.
            _wait_for(watch, "SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 'household'::regclass"
                             " AND mode = 'AccessExclusiveLock' AND granted)")
            hold.execute("LOCK TABLE household IN ROW EXCLUSIVE MODE")
            importing.join(timeout=60)
            assert not importing.is_alive(), "no answer while the build waited: built before answering"
            assert answers[0].status_code == 200, answers[0].text
            assert answers[0].json()["imported"] == ROWS
            _wait_for(watch, "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%'"
                             " AND wait_event_type = 'Lock')")
            watch.execute(INDEX_STATE)
            assert watch.fetchone() == (False, None)  # answered; the build is still to come
            os.killpg(server.process.pid, signal.SIGKILL)  # the server dies while the build waits
            server.process.wait()
            holder.rollback()
            _wait_for(watch, "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%')")
            watch.execute(INDEX_STATE)
            assert watch.fetchone() == (False, None)  # missing, not invalid
            watch.execute("SELECT count(*) FROM household")
            assert watch.fetchone()[0] == ROWS  # the import stays
        upgraded = subprocess.run([str(GRIDMAP), "db", "upgrade"], env=gridmap_env(url), cwd=ROOT,
                                  capture_output=True, text=True, timeout=300, check=False)
        assert upgraded.returncode == 0, upgraded.stderr
        with watcher.cursor() as watch:
            watch.execute(INDEX_STATE)
            assert watch.fetchone() == (True, True)
    finally:
        server.stop()
        holder.close()
        watcher.close()


def test_the_index_is_built_after_the_answer(scratch):
    url, token = scratch
    server = Server(url, workers=1)
    watcher = psycopg2.connect(url)
    watcher.autocommit = True
    try:
        answers: list = []
        _import(server, token, answers)
        assert answers[0].status_code == 200, answers[0].text
        with watcher.cursor() as watch:
            _wait_for(watch, BUILT)
    finally:
        server.stop()
        watcher.close()
