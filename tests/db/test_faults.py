"""Faults: the database drops every connection while the app runs; the next requests succeed."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DataError, OperationalError

from gridmap import create_app
from gridmap.config import Settings
from gridmap.db import Prepared, sqlalchemy_url
from tests.conftest import TEST_DATABASE_URL

OTHERS = ("FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
          " AND backend_type = 'client backend'")


def _terminate_other_connections() -> int:
    """Terminate the other sessions and wait until they are gone (pg_terminate_backend only
    signals them; the app's pool sees a connection dead once its backend has exited)."""
    engine = create_engine(sqlalchemy_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        pids = connection.scalars(text(f"SELECT pid {OTHERS}")).all()
        killed = connection.scalar(text(f"SELECT count(pg_terminate_backend(pid)) {OTHERS}"))
        for _ in range(100):
            alive = connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                      {"pids": list(pids)})
            if not alive:
                break
            time.sleep(0.05)
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


def test_a_boundary_save_killed_half_way_writes_nothing(client, db_session, monkeypatch):
    """The grid, its version history and the households are as before when re-assignment dies."""
    from shapely.geometry import box, mapping
    from sqlalchemy import func, select

    from gridmap.areas.models import Grid, GridVersion
    from gridmap.households.models import Household
    from gridmap.planning import moves
    from tests import factories as f

    world = f.lishui(db_session)
    f.household(db_session, "F-1", 119.888, 28.455, world["grids"][f.GRID_A])
    db_session.commit()
    token = f.token_for(db_session, "planner", f.COMMUNITY)

    def dies(*args, **kwargs):
        raise ConnectionError("server killed mid-save")

    monkeypatch.setattr(moves, "assign_near_grids", dies)
    response = client.put(f"/api/v1/grids/{f.GRID_A}/geometry", headers=f.auth(token), json={
        "geometry": mapping(box(119.880, 28.450, 119.886, 28.460)), "version": 1, "reason": "缩小网格"})
    assert response.status_code == 500
    assert db_session.scalar(select(Grid.version).where(Grid.code == f.GRID_A)) == 1
    grid_id = world["grids"][f.GRID_A].id
    assert db_session.scalar(select(func.count()).select_from(GridVersion).where(GridVersion.grid_id == grid_id)) == 1
    assert db_session.scalar(select(Household.grid_id).where(Household.code == "F-1")) == grid_id
    assert db_session.scalar(select(func.ST_XMax(Grid.geom)).where(Grid.code == f.GRID_A)) == 119.89


def test_a_statement_run_on_the_driver_fails_as_any_other(db_session):
    """db.dbapi_cursor (the prepared check-in, the token lookup): a value PostgreSQL refuses is
    SQLAlchemy's DataError (the app's 422), not the driver's own exception (a 500)."""
    refused = Prepared("test_refused_value", "SELECT CAST(:x AS int)", {"x": "text"})
    assert refused.first(db_session, {"x": "41"}) == (41,)
    with pytest.raises(DataError):
        refused.first(db_session, {"x": "四十二"})
    db_session.rollback()
    assert db_session.scalar(text("SELECT 1")) == 1


def test_a_connection_lost_under_the_driver_is_dropped_from_the_pool(app):
    """Its backend gone mid-statement: SQLAlchemy's OperationalError (the app's 503) with the
    connection invalidated, and the session's next statement runs on a new one."""
    fresh = create_app(Settings(database_url=TEST_DATABASE_URL, secret_key="fault-test"))
    session = fresh.extensions["gridmap.db"].session()
    first = session.scalar(text("SELECT pg_backend_pid()"))
    suicide = Prepared("test_own_end", "SELECT pg_terminate_backend(pg_backend_pid()) AND :x", {"x": "bool"})
    with pytest.raises(OperationalError) as lost:
        suicide.first(session, {"x": True})
    assert lost.value.connection_invalidated
    session.rollback()
    assert session.scalar(text("SELECT pg_backend_pid()")) != first
    session.close()
    fresh.extensions["gridmap.db"].engine.dispose()
