"""Test set-up: one migrated PostGIS test database per session, one rolled-back
transaction per test (every commit inside becomes a savepoint)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from gridmap import create_app
from gridmap.config import Settings
from gridmap.db import sqlalchemy_url
from gridmap.migrate import upgrade

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://gridmap@127.0.0.1:55432/gridmap_test")


def _fresh_database(url: str) -> None:
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


def pytest_terminal_summary(terminalreporter):
    """How much the contract fuzz sent (tests/api/test_fuzz_contract.py), when it ran."""
    fuzz = sys.modules.get("tests.api.test_fuzz_contract")
    if fuzz is not None and fuzz.REQUESTS:
        terminalreporter.write_line(
            f"contract fuzz: {sum(fuzz.REQUESTS.values())} requests over {len(fuzz.REQUESTS)} role × operation "
            "pairs (stateless, and stateful along the document's links), each checked by every schemathesis "
            "check; any failure is reported above")
