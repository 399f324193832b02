"""The API suite talks to PostgreSQL through PgBouncer in transaction mode, as a deployment
behind a pooler does: any state the app left in a server session (a prepared statement, a
``SET`` without ``LOCAL``, a session advisory lock) would surface here as a failure.
GRIDMAP_TEST_POOLER=0 connects directly instead (e.g. on a machine without pgbouncer)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import make_app
from tests.pgbouncer_support import PgBouncer


@pytest.fixture(scope="session")
def pooler(test_database):
    if os.environ.get("GRIDMAP_TEST_POOLER", "1") == "0":
        yield None
        return
    bouncer = PgBouncer(test_database)
    try:
        yield bouncer
    finally:
        bouncer.stop()


@pytest.fixture(scope="session")
def app(test_database, pooler):
    if pooler is None:
        yield from make_app(test_database)
    else:
        yield from make_app(pooler.url(), pool_mode="transaction")
