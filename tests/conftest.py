"""Test set-up: one migrated PostGIS test database per session, one rolled-back
transaction per test (every commit inside becomes a savepoint).

Under pytest-xdist (scripts/test runs the whole suite on two workers) every worker is a
session of its own with a database of its own: TEST_DATABASE_URL's name plus ``_<worker>``
(gridmap_test_gw0, ...), created when missing and migrated once, and exported again so the
commands a test starts use it too. Names derived from it (scratch databases of the backup
tests, the two-server test's) are per worker as well; servers and PgBouncer take free ports.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gridmap import create_app
from gridmap.config import Settings
from gridmap.db import sqlalchemy_url
from gridmap.migrate import upgrade

SHARED_TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://gridmap@127.0.0.1:55432/gridmap_test")
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... in a pytest-xdist worker


def _worker_url(url: str, worker: str | None) -> str:
    """``url`` for a worker: its database's name plus ``_<worker>`` (the URL itself outside xdist)."""
    if not worker:
        return url
    scheme, sep, rest = url.partition("://")
    location, slash, tail = rest.partition("/")
    name, question, query = tail.partition("?")
    return f"{scheme}{sep}{location}{slash}{name}_{worker}{question}{query}"


TEST_DATABASE_URL = _worker_url(SHARED_TEST_DATABASE_URL, WORKER)
os.environ["TEST_DATABASE_URL"] = TEST_DATABASE_URL
# Chromium's render slots (GRIDMAP_RENDER_SLOT_DIR) of this test process alone: the machine-wide
# default would let another worker's or another checkout's prints make ours a 503 renders_busy.
if "GRIDMAP_RENDER_SLOT_DIR" not in os.environ:
    os.environ["GRIDMAP_RENDER_SLOT_DIR"] = tempfile.mkdtemp(prefix="gridmap-render-slots-test-")
    atexit.register(shutil.rmtree, os.environ["GRIDMAP_RENDER_SLOT_DIR"], ignore_errors=True)


def _create_database(url: str) -> None:
    """Create the worker's database when missing, from the shared test database's server."""
    name = make_url(sqlalchemy_url(url)).database
    engine = create_engine(sqlalchemy_url(SHARED_TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            connection.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    engine.dispose()


def _fresh_database(url: str) -> None:
    if url != SHARED_TEST_DATABASE_URL:
        _create_database(url)
    engine = create_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)


@pytest.fixture(scope="session")
def test_database() -> str:
    """The test database, dropped and migrated once per session."""
    _fresh_database(TEST_DATABASE_URL)
    return TEST_DATABASE_URL


def make_app(database_url: str, pool_mode: str = "session") -> Iterator:
    settings = Settings(database_url=database_url, secret_key="test-secret", tiles="none", db_pool_mode=pool_mode)
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["gridmap.db"].engine.dispose()


@pytest.fixture(scope="session")
def app(test_database):
    yield from make_app(test_database)


@contextmanager
def rolled_back_session(app) -> Iterator[Session]:
    """A session whose work, and every session the app opens meanwhile, is rolled back."""
    database = app.extensions["gridmap.db"]
    connection = database.engine.connect()
    outer = connection.begin()
    with database.bound_to(connection):
        session = database.session()
        try:
            yield session
        finally:
            session.close()
    outer.rollback()
    connection.close()


@pytest.fixture
def db_session(app):
    with rolled_back_session(app) as session:
        yield session


@pytest.fixture
def client(app, db_session):
    return app.test_client()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium driven by Playwright, launched once per session (per xdist worker).
    tests/browser/conftest.py's ``browser`` fixture hands it out; each test opens its own
    context, so nothing but the process is shared."""
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("GRIDMAP_CHROMIUM") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The contract fuzz's request counts (tests/api/test_fuzz_contract.py REQUESTS), gathered
# from the xdist workers by the controller.
_FUZZ_REQUESTS: dict[str, int] = {}


def _fuzz_requests() -> dict[str, int]:
    fuzz = sys.modules.get("tests.api.test_fuzz_contract")
    return dict(fuzz.REQUESTS) if fuzz is not None else {}


# The order xdist workers collect, and so are handed, the modules in: folders of long tests (one live server and
# browser world per module, throwaway clusters, whole-demo loads) first, the many short unit
# tests last, so the run does not end with one worker idle while the other runs a long module.
FOLDER_ORDER = ("security", "browser", "db", "api", "unit")


def pytest_collection_modifyitems(session, config, items):
    if not WORKER:
        return  # one process: the usual order, unit tests first

    def rank(item) -> int:
        parts = item.nodeid.split("/")
        folder = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
        return FOLDER_ORDER.index(folder) if folder in FOLDER_ORDER else len(FOLDER_ORDER)

    items.sort(key=rank)  # stable: each folder keeps its own order


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the counts to the controller
        workeroutput["fuzz_requests"] = _fuzz_requests()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for key, count in getattr(node, "workeroutput", {}).get("fuzz_requests", {}).items():
        _FUZZ_REQUESTS[key] = _FUZZ_REQUESTS.get(key, 0) + count


def pytest_terminal_summary(terminalreporter):
    """How much the contract fuzz sent (tests/api/test_fuzz_contract.py), when it ran."""
    requests = {**_FUZZ_REQUESTS, **_fuzz_requests()}
    if requests:
        terminalreporter.write_line(
            f"contract fuzz: {sum(requests.values())} requests over {len(requests)} role × operation "
            "pairs (stateless, and stateful along the document's links), each checked by every schemathesis "
            "check; any failure is reported above")
