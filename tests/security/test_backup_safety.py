"""Backups are owner-only files, written whole; a restore that fails for any reason leaves
the database it would have replaced serving, unchanged."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from gridmap.backup import BackupError, backup, restore
from gridmap.db import Database, sqlalchemy_url
from gridmap.migrate import upgrade
from tests import factories as f
from tests.conftest import TEST_DATABASE_URL

BASE = make_url(sqlalchemy_url(TEST_DATABASE_URL)).database + "_bsafe"
SOURCE, LIVE, FOREIGN = f"{BASE}_src", f"{BASE}_live", f"{BASE}_foreign"


def _url_for(name: str) -> str:
    return make_url(sqlalchemy_url(TEST_DATABASE_URL)).set(database=name).render_as_string(hide_password=False)


def _admin():
    return create_engine(_url_for("postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _drop_all(admin) -> None:
    with admin.connect() as connection:
        names = connection.scalars(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                   {"p": BASE + "%"}).all()
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _households(name: str) -> list[str]:
    engine = create_engine(_url_for(name), poolclass=NullPool)
    with engine.connect() as connection:
        codes = connection.scalars(text("SELECT code FROM household ORDER BY code")).all()
    engine.dispose()
    return codes


def _databases() -> list[str]:
    admin = _admin()
    with admin.connect() as connection:
        names = connection.scalars(text("SELECT datname FROM pg_database WHERE datname LIKE :p ORDER BY 1"),
                                   {"p": BASE + "%"}).all()
    admin.dispose()
    return names


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    """A migrated source database holding households SRC-0..9, its backup, and a backup of
    a database that is not gridmap's."""
    admin = _admin()
    _drop_all(admin)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{SOURCE}"'))
        connection.execute(text(f'CREATE DATABASE "{FOREIGN}"'))
    upgrade(_url_for(SOURCE))
    database = Database(_url_for(SOURCE))
    with database.session() as session:
        world = f.lishui(session)
        for i in range(10):
            f.household(session, f"SRC-{i}", 119.881 + i * 0.0003, 28.455, world["grids"][f.GRID_A])
        session.commit()
    database.engine.dispose()
    foreign = create_engine(_url_for(FOREIGN), poolclass=NullPool)
    with foreign.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('not gridmap')"))
    foreign.dispose()
    folder = tmp_path_factory.mktemp("backups")
    yield {"gridmap": backup(_url_for(SOURCE), folder / "gridmap.dump"),
           "foreign": backup(_url_for(FOREIGN), folder / "foreign.dump")}
    _drop_all(admin)
    admin.dispose()


@pytest.fixture
def live(dump):
    """The database a restore would replace: a copy of the source plus household LIVE-1."""
    admin = _admin()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{LIVE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{LIVE}" TEMPLATE "{SOURCE}"'))
    engine = create_engine(_url_for(LIVE), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO household (code, geom) VALUES ('LIVE-1', ST_SetSRID(ST_MakePoint(119.885, 28.455), 4326))"))
    engine.dispose()
    yield _url_for(LIVE)
    with admin.connect() as connection:
        for name in _databases():
            if name.startswith(LIVE):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_file_is_owner_only_even_over_an_existing_readable_file(dump, tmp_path):
    target = tmp_path / "nightly.dump"
    target.write_bytes(b"yesterday")
    target.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        backup(_url_for(SOURCE), target)
    finally:
        os.umask(old_umask)
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert target.read_bytes()[:5] == b"PGDMP"
    assert [p.name for p in tmp_path.iterdir()] == ["nightly.dump"]


def test_a_failed_backup_leaves_the_previous_file_whole(dump, tmp_path):
    target = tmp_path / "nightly.dump"
    target.write_bytes(dump["gridmap"].read_bytes())
    with pytest.raises(BackupError):
        backup(_url_for(f"{BASE}_no_such_database"), target)
    assert target.read_bytes() == dump["gridmap"].read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["nightly.dump"]


# A custom-format dump is its table of contents (most of a schema-only-sized dump), then
# the tables' data: cut inside the TOC pg_restore fails at once; cut inside the data it
# fails halfway, after it has created (and with --clean dropped) the tables.
BROKEN = {
    "truncated_in_toc": lambda files: files["gridmap"].read_bytes()[:len(files["gridmap"].read_bytes()) * 2 // 3],
    "truncated_in_data": lambda files: files["gridmap"].read_bytes()[:-64],
    "garbage": lambda files: os.urandom(4096),
    "empty": lambda files: b"",
    "sql_text": lambda files: b"DROP TABLE household;\n",
    "not_gridmap": lambda files: files["foreign"].read_bytes(),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_failed_restore_leaves_the_old_database_serving(dump, live, tmp_path, kind):
    broken = tmp_path / f"{kind}.dump"
    broken.write_bytes(BROKEN[kind](dump))
    # A session of the app on the live database, open during the restore attempt.
    app_engine = create_engine(live, pool_size=1)
    with app_engine.connect() as connection:
        with pytest.raises(BackupError):
            restore(live, broken)
        assert connection.scalar(text("SELECT count(*) FROM household WHERE code = 'LIVE-1'")) == 1
    app_engine.dispose()
    assert _households(LIVE) == ["LIVE-1", *(f"SRC-{i}" for i in range(10))]
    assert _databases() == sorted([SOURCE, LIVE, FOREIGN])   # no half-restored database left behind


def test_restore_replaces_the_database_and_keeps_the_old_one(dump, live):
    app_engine = create_engine(live, pool_size=1, pool_pre_ping=True)
    session = app_engine.connect()
    session.scalar(text("SELECT 1"))
    restored = restore(live, dump["gridmap"])
    assert restored.database == LIVE and restored.ended_sessions == 1
    with pytest.raises(OperationalError):      # ended for the swap
        session.scalar(text("SELECT 1"))
    session.invalidate()
    assert _households(LIVE) == [f"SRC-{i}" for i in range(10)]
    assert _households(restored.previous) == ["LIVE-1", *(f"SRC-{i}" for i in range(10))]
    # The app's pool reconnects to the restored database.
    with app_engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM household")) == 10
    app_engine.dispose()


def test_the_restore_command_says_what_it_did(dump, live, tmp_path):
    from gridmap import create_app
    from gridmap.config import Settings

    app = create_app(Settings(database_url=live, secret_key="test-secret", tiles="none"))
    runner = app.test_cli_runner()
    broken = tmp_path / "broken.dump"
    broken.write_bytes(dump["gridmap"].read_bytes()[:-64])
    failed = runner.invoke(args=["restore", str(broken), "--yes"])
    assert failed.exit_code == 1 and "恢复失败，当前数据库未改动" in failed.output, failed.output
    done = runner.invoke(args=["restore", str(dump["gridmap"]), "--yes"])
    assert done.exit_code == 0, done.output
    assert "恢复完成" in done.output and f"原数据库保留为 {LIVE}_before_" in done.output
    app.extensions["gridmap.db"].engine.dispose()
    assert _households(LIVE) == [f"SRC-{i}" for i in range(10)]
