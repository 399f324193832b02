"""A real streaming replica (scripts/db replica) of a throwaway cluster behind the app: GET reads
on the replica, writes and the writer's next reads on the primary until the replica has replayed
them, an audited GET writing its audit row on the primary, and the app answering from the
primary when the replica lags too far or is stopped. Where a request read is what its own
session sees (``pg_is_in_recovery()``), and what it returned (a paused replica lacks new rows)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import g
from sqlalchemy import create_engine, text

import gridmap.models  # noqa: F401  (every model, for the factories)
from gridmap import create_app
from gridmap.config import Settings
from gridmap.db import Database, sqlalchemy_url
from gridmap.migrate import upgrade
from gridmap.web import LSN_HEADER, get_session, run_view
from tests import factories as f
from tests.security.cluster_support import ThrowawayCluster

IN_A = (119.885, 28.455)
REPORT = {"category": "fire", "severity": "normal", "description": "楼道堆放杂物", "lon": IN_A[0], "lat": IN_A[1]}


class Pair:
    def __init__(self, cluster: ThrowawayCluster):
        self.cluster = cluster
        self.primary_url = cluster.url()
        base = cluster.db("replica", "url").rsplit("/", 1)[0]
        self.replica_url = f"{base}/gridmap?passfile={cluster.passfile}"
        self.primary = create_engine(sqlalchemy_url(self.primary_url), isolation_level="AUTOCOMMIT")
        self.replica = create_engine(sqlalchemy_url(self.replica_url), isolation_level="AUTOCOMMIT")

    def on_replica(self, sql: str):
        with self.replica.connect() as connection:
            return connection.execute(text(sql)).scalar()

    def on_primary(self, sql: str):
        with self.primary.connect() as connection:
            return connection.execute(text(sql)).scalar()

    def caught_up(self) -> None:
        target = self.on_primary("SELECT CAST(pg_current_wal_insert_lsn() AS text)")
        deadline = time.monotonic() + 20
        while not self.on_replica(f"SELECT pg_last_wal_replay_lsn() >= '{target}'"):
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)

    def pause(self) -> None:
        self.on_replica("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self.on_replica("SELECT pg_wal_replay_resume()")
        self.caught_up()


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    cluster = ThrowawayCluster()
    try:
        cluster.start()
        cluster.db("replica", "start")
        assert cluster.db("replica", "status").startswith("replica running")
        pair = Pair(cluster)
        assert pair.on_replica("SELECT pg_is_in_recovery()") is True
        assert pair.on_primary("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == 1
        upgrade(pair.primary_url)
        database = Database(pair.primary_url)
        with database.session() as session:
            grids = f.lishui(session)["grids"]
            pair.tokens = {"writer": f.token_for(session, "grid_worker", f.GRID_A, username="writer"),
                           "other": f.token_for(session, "grid_worker", f.GRID_A, username="other"),
                           "revoked": f.token_for(session, "grid_worker", f.GRID_A, username="revoked")}
            f.household(session, "H-REPLICA-1", IN_A[0], IN_A[1], grids[f.GRID_A], head_name="张三",
                        phone="13800000000")
            session.commit()
        database.engine.dispose()
        pair.caught_up()
        yield pair
        pair.primary.dispose()
        pair.replica.dispose()
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def app(pair):
    app = create_app(Settings(database_url=pair.primary_url, database_replica_url=pair.replica_url,
                              replica_max_lag_s=30.0, secret_key="replica-test"))

    @app.after_request
    def _probe(response):
        # What the request's own session reads from, asked through that session.
        db_session = g.get("db_session")
        g.routed = (g.read_from, db_session.execute(text("SELECT pg_is_in_recovery()")).scalar()) \
            if db_session is not None else (None, None)
        return response

    def _writes_by_hand():
        # A GET whose service writes with raw SQL: the standby refuses it, and run_view runs
        # the view again on the primary.
        def view():
            get_session().execute(text("UPDATE admin_unit SET name = name WHERE code = :c"), {"c": f.GRID_A})
            get_session().commit()
            return {"read_from": g.read_from}
        return run_view(True, view)

    app.add_url_rule("/test/writes-by-hand", "writes_by_hand", _writes_by_hand)
    yield app
    app.extensions["gridmap.db"].engine.dispose()
    app.extensions["gridmap.db"].replica.engine.dispose()


def _request(app, method: str, path: str, token: str, lsn: str | None = None, **kwargs):
    """One request; returns the response, the server its reads were routed to (g.read_from)
    and what its own session sees (pg_is_in_recovery() on the session it read with)."""
    headers = {**f.auth(token), **({LSN_HEADER: lsn} if lsn else {})}
    with app.test_client() as client:
        response = client.open(path, method=method, headers=headers, **kwargs)
        return response, *g.routed


def _hazard_ids(response) -> set[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {feature["id"] for feature in response.get_json()["features"]}


def test_gets_read_the_replica_and_writes_go_to_the_primary(app, pair):
    listed, read_from, standby = _request(app, "GET", "/api/v1/hazards", pair.tokens["other"])
    assert listed.status_code == 200 and (read_from, standby) == ("replica", True)
    page, read_from, standby = _request(app, "GET", "/hazards", pair.tokens["other"])
    assert page.status_code == 200 and (read_from, standby) == ("replica", True)
    created, read_from, standby = _request(app, "POST", "/api/v1/hazards", pair.tokens["writer"], json=REPORT)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert (read_from, standby) == ("primary", False)
    assert LSN_HEADER in created.headers


def test_vector_tiles_stay_on_the_primary_where_their_cache_is(app, pair):
    tile, read_from, standby = _request(app, "GET", "/tiles/grids/14/13647/6748.pbf", pair.tokens["other"])
    assert tile.status_code == 200 and (read_from, standby) == ("primary", False)
    again, read_from, _ = _request(app, "GET", "/tiles/grids/14/13647/6748.pbf", pair.tokens["other"])
    assert again.status_code == 200 and read_from == "primary"
    assert "X-Gridmap-LSN" not in again.headers  # a cache hit only read: nothing for the caller to wait for


def test_the_writer_reads_its_write_while_the_replica_has_not_replayed_it(app, pair):
    pair.caught_up()
    pair.pause()
    try:
        created, _, _ = _request(app, "POST", "/api/v1/hazards", pair.tokens["writer"], json=REPORT)
        assert created.status_code == 201
        new_id, lsn = created.get_json()["id"], created.headers[LSN_HEADER]
        # The writer, sending back its write's position: the primary, and its hazard is there.
        mine, read_from, standby = _request(app, "GET", "/api/v1/hazards", pair.tokens["writer"], lsn=lsn)
        assert (read_from, standby) == ("primary", False) and new_id in _hazard_ids(mine)
        # Anyone else: the (paused) replica, which has not got it yet.
        theirs, read_from, standby = _request(app, "GET", "/api/v1/hazards", pair.tokens["other"])
        assert (read_from, standby) == ("replica", True) and new_id not in _hazard_ids(theirs)
        # A position the caller cannot have had is refused as evidence: primary.
        _, read_from, _ = _request(app, "GET", "/api/v1/hazards", pair.tokens["other"], lsn="nonsense")
        assert read_from == "primary"
    finally:
        pair.resume()
    # Replayed: the writer reads from the replica again, and finds its hazard there.
    mine, read_from, standby = _request(app, "GET", "/api/v1/hazards", pair.tokens["writer"], lsn=lsn)
    assert (read_from, standby) == ("replica", True) and new_id in _hazard_ids(mine)


def test_a_revoked_token_stops_at_once_while_the_replica_lags(app, pair):
    pair.caught_up()
    pair.pause()
    try:
        assert _request(app, "DELETE", "/api/v1/auth/token", pair.tokens["revoked"])[0].status_code in (200, 204)
        # Not sending the revocation's position back: authentication reads the primary anyway.
        refused, _, _ = _request(app, "GET", "/api/v1/hazards", pair.tokens["revoked"])
        assert refused.status_code == 401
    finally:
        pair.resume()


def test_a_browser_keeps_its_write_position_in_the_session_cookie(app, pair):
    pair.caught_up()
    pair.pause()
    try:
        with app.test_client() as browser:
            with browser.session_transaction() as cookie:  # logged in: the cookie carries a token
                cookie["token"], cookie["csrf"] = pair.tokens["writer"], "csrf-1"
            created = browser.post("/api/v1/hazards", json=REPORT, headers={"X-CSRF-Token": "csrf-1"})
            assert created.status_code == 201, created.get_data(as_text=True)
            with browser.session_transaction() as cookie:
                assert cookie["lsn"] == created.headers[LSN_HEADER]
            # Its next page, with no header: the cookie keeps it on the primary while replay waits.
            assert browser.get("/hazards").status_code == 200
            assert g.routed == ("primary", False)
        # Someone else meanwhile: the replica.
        assert _request(app, "GET", "/hazards", pair.tokens["other"])[1:] == ("replica", True)
        # A bearer-token caller gets the header, never a cookie.
        with app.test_client() as client:
            created = client.post("/api/v1/hazards", json=REPORT, headers=f.auth(pair.tokens["writer"]))
            assert created.status_code == 201 and LSN_HEADER in created.headers
            assert "Set-Cookie" not in created.headers
    finally:
        pair.resume()


def test_an_audited_get_reads_the_replica_and_writes_its_audit_row_on_the_primary(app, pair):
    pair.caught_up()
    before = pair.on_primary("SELECT count(*) FROM audit_log WHERE object_type = 'grid_households'")
    listed, read_from, standby = _request(app, "GET", f"/api/v1/grids/{f.GRID_A}/households", pair.tokens["other"])
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert listed.get_json()["masked"] is False and listed.get_json()["total"] == 1
    # Read on the replica; the audit row's insert moved the session to the primary.
    assert read_from == "replica" and standby is False
    assert pair.on_primary("SELECT count(*) FROM audit_log WHERE object_type = 'grid_households'") == before + 1
    assert LSN_HEADER in listed.headers


def test_a_get_that_writes_by_hand_runs_again_on_the_primary(app, pair):
    pair.caught_up()
    answer, read_from, standby = _request(app, "GET", "/test/writes-by-hand", pair.tokens["other"])
    assert answer.status_code == 200 and answer.get_json() == {"read_from": "primary"}
    assert (read_from, standby) == ("primary", False) and LSN_HEADER in answer.headers


def test_a_replica_lagging_past_the_bound_is_not_read(app, pair):
    replica = app.extensions["gridmap.db"].replica
    pair.caught_up()
    pair.pause()
    try:
        created, _, _ = _request(app, "POST", "/api/v1/hazards", pair.tokens["writer"], json=REPORT)
        assert created.status_code == 201
        time.sleep(0.3)
        replica.max_lag_s = 0.1
        time.sleep(replica.cache_s * 1.5)  # past the replica state a process keeps
        _, read_from, _ = _request(app, "GET", "/api/v1/hazards", pair.tokens["other"])
        assert read_from == "primary"
        replica.max_lag_s = 30.0
        time.sleep(replica.cache_s * 1.5)
        _, read_from, _ = _request(app, "GET", "/api/v1/hazards", pair.tokens["other"])
        assert read_from == "replica"
    finally:
        replica.max_lag_s = 30.0
        pair.resume()


def test_the_app_answers_from_the_primary_when_the_replica_is_stopped(app, pair):
    replica = app.extensions["gridmap.db"].replica
    replica.cache_s = 600.0  # the process still believes the replica is up when it stops
    assert _request(app, "GET", "/api/v1/hazards", pair.tokens["other"])[1] == "replica"
    pair.cluster.db("replica", "stop")
    try:
        # Routed to the replica, which fails mid-request: the view runs again on the primary.
        listed, read_from, standby = _request(app, "GET", "/api/v1/hazards", pair.tokens["other"])
        assert listed.status_code == 200 and (read_from, standby) == ("primary", False)
        # Known down now: not asked, the primary answers.
        page, read_from, _ = _request(app, "GET", f"/api/v1/grids/{f.GRID_A}/households", pair.tokens["other"])
        assert page.status_code == 200 and read_from == "primary"
        queue, read_from, _ = _request(app, "GET", "/hazards", pair.tokens["other"])
        assert queue.status_code == 200 and read_from == "primary"
    finally:
        replica.cache_s = 0.1
        pair.cluster.db("replica", "start")
