"""Faults: the database drops every connection while the app runs; the next requests succeed."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from gridmap import create_app
from gridmap.config import Settings
from gridmap.db import sqlalchemy_url
from tests.conftest import TEST_DATABASE_URL


def _terminate_other_connections() -> int:
    engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        killed = connection.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"))
    engine.dispose()
    return killed


def test_requests_succeed_after_the_database_drops_every_connection(app):
    fresh = create_app(Settings(database_url=TEST_DATABASE_URL, secret_key="fault-test"))
    client = fresh.test_client()
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/grids").status_code == 401  # touches no DB: no token
    token = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert token.status_code == 401  # this one did use a pooled connection
    assert _terminate_other_connections() >= 1
    for _ in range(3):
        again = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
        assert again.status_code == 401, again.get_json()
    fresh.extensions["gridmap.db"].engine.dispose()
