"""The private cluster the tests run on (scripts/db) is durable and asks for a password:
synchronous commits, WAL at replica level, scram-sha-256 for every connection, never
trust, and the generated password in a file only its owner reads. A cluster made by an
older scripts/db with trust is switched to passwords at its next start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from gridmap.db import sqlalchemy_url
from tests.conftest import TEST_DATABASE_URL
from tests.security.cluster_support import ThrowawayCluster, on_private_cluster, private_state

pytestmark = pytest.mark.skipif(not on_private_cluster(TEST_DATABASE_URL),
                                reason="the tests run against an external DATABASE_URL, not the private cluster")


def _params(url: str) -> dict[str, object]:
    parsed = make_url(sqlalchemy_url(url))
    return {"host": parsed.host, "port": parsed.port, "user": parsed.username, "dbname": parsed.database,
            "connect_timeout": 10, **parsed.query}


def _query(url: str, sql: str) -> list[tuple]:
    connection = psycopg2.connect(**_params(url))
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def _show(url: str, name: str) -> str:
    return _query(url, f"SHOW {name}")[0][0]


def test_commits_are_synchronous_and_wal_is_replica_level():
    settings = {name: _show(TEST_DATABASE_URL, name) for name in
                ("synchronous_commit", "fsync", "full_page_writes", "wal_level", "max_wal_senders",
                 "password_encryption")}
    assert settings == {"synchronous_commit": "on", "fsync": "on", "full_page_writes": "on", "wal_level": "replica",
                        "max_wal_senders": "10", "password_encryption": "scram-sha-256"}


def _assert_password_only(url: str) -> None:
    rules = _query(url, "SELECT line_number, type, auth_method, error FROM pg_hba_file_rules")
    assert rules, "pg_hba.conf has no rule"
    assert {(method, error) for _, _, method, error in rules} == {("scram-sha-256", None)}, rules
    hba = Path(_show(url, "hba_file")).read_text()
    live_lines = [line for line in hba.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert not [line for line in live_lines if "trust" in line.split()], live_lines
    [(verifier,)] = _query(url, "SELECT rolpassword FROM pg_authid WHERE rolname = current_user")
    assert verifier.startswith("SCRAM-SHA-256$")


def test_every_connection_rule_asks_for_a_scram_password():
    _assert_password_only(TEST_DATABASE_URL)


def _assert_owner_only(passfile: Path) -> None:
    info = passfile.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
    assert info.st_uid == os.getuid()


def test_the_password_file_is_readable_by_its_owner_only():
    _assert_owner_only(private_state() / "pgpass")


def _assert_refused_without_the_password(url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    params = _params(url)
    params.pop("passfile", None)
    socket_dir = _show(url, "unix_socket_directories")
    no_passfile = str(tmp_path / "no-such-passfile")
    for host in ("127.0.0.1", socket_dir):
        with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
            psycopg2.connect(**{**params, "host": host, "passfile": no_passfile})
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(**{**params, "host": host, "passfile": no_passfile, "password": "not-the-password"})


def test_a_connection_without_the_password_is_refused(tmp_path, monkeypatch):
    _assert_refused_without_the_password(TEST_DATABASE_URL, tmp_path, monkeypatch)


@pytest.fixture
def throwaway():
    cluster = ThrowawayCluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


def test_a_trust_cluster_gets_a_password_at_its_next_start(throwaway, tmp_path, monkeypatch):
    throwaway.start()
    url = throwaway.url("postgres")
    # Make it what an older scripts/db left: no password, trust everywhere, no password file.
    _query(url, "ALTER ROLE gridmap PASSWORD NULL")
    throwaway.db("stop")
    hba = throwaway.pgdata() / "pg_hba.conf"
    with open(hba, "r+") as handle:                     # in place: the owner stays the cluster's
        text = handle.read().replace("scram-sha-256", "trust")
        handle.seek(0)
        handle.truncate()
        handle.write(text)
    throwaway.passfile.unlink()

    throwaway.start()

    _assert_owner_only(throwaway.passfile)
    _assert_password_only(url)
    _assert_refused_without_the_password(url, tmp_path, monkeypatch)
