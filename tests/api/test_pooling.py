"""The API suite's connections go through PgBouncer in transaction mode (tests/api/conftest.py),
and in that mode the app keeps no prepared statement in a server session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests import factories as f


@pytest.fixture
def bouncer(pooler):
    if pooler is None:
        pytest.skip("GRIDMAP_TEST_POOLER=0: the API suite connects directly")
    return pooler


def test_the_app_reaches_postgresql_through_pgbouncer_in_transaction_mode(app, bouncer, client, db_session):
    assert make_url(str(app.extensions["gridmap.db"].engine.url)).port == bouncer.port
    assert app.config["GRIDMAP"].db_pool_mode == "transaction"
    pool = bouncer.pools()[make_url(str(app.extensions["gridmap.db"].engine.url)).database]
    assert pool["pool_mode"] == "transaction"
    assert pool["cl_active"] >= 1                      # this test's own connection, held by its transaction


def test_a_check_in_prepares_nothing_in_the_server_session(app, bouncer, client, db_session):
    f.lishui(db_session)
    token = f.token_for(db_session, "grid_worker", f.GRID_A, username="pooled-worker")
    body = {"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.455, "accuracy_m": 10,
            "recorded_at": datetime.now(UTC).isoformat(), "crs": "wgs84"}
    assert client.post("/api/v1/checkins", json=body, headers=f.auth(token)).status_code == 201
    # The request ran on this test's connection (its commit a savepoint): same server session.
    assert db_session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one() == 0
    assert db_session.execute(text("SELECT count(*) FROM checkin WHERE id = :id"), {"id": body["id"]}).scalar_one() == 1
