"""backup and restore: a backup restored into a fresh database holds every row."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gridmap.backup import BackupError, backup, restore
from gridmap.db import Database, sqlalchemy_url
from gridmap.migrate import upgrade
from tests import factories as f
from tests.conftest import TEST_DATABASE_URL

TABLES = ("admin_unit", "grid", "grid_version", "household", "app_user", "audit_log")


def _url_for(name: str) -> str:
    return make_url(sqlalchemy_url(TEST_DATABASE_URL)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def scratch_databases():
    base = make_url(sqlalchemy_url(TEST_DATABASE_URL)).database
    names = [f"{base}_backup_src", f"{base}_backup_dst"]
    admin = create_engine(_url_for("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield [_url_for(n) for n in names]
    with admin.connect() as connection:
        # The restore keeps the database it replaced as <name>_before_<stamp>.
        kept = connection.scalars(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                  {"p": f"{base}_backup_dst_before_%"}).all()
        for name in [*names, *kept]:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        counts = {t: connection.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}
    engine.dispose()
    return counts


def test_backup_restores_every_row_into_a_fresh_database(scratch_databases, tmp_path):
    source, target = scratch_databases
    upgrade(source)
    database = Database(source)
    with database.session() as session:
        world = f.lishui(session)
        for i in range(25):
            f.household(session, f"BK-{i}", 119.881 + i * 0.0003, 28.455, world["grids"][f.GRID_A], head_name="张三")
        f.token_for(session, "admin")
        session.commit()
    database.engine.dispose()
    path = backup(source, tmp_path / "gridmap.dump")
    assert path.stat().st_size > 0
    restore(target, path)
    assert _counts(target) == _counts(source)
    assert _counts(target)["household"] == 25
    engine = create_engine(target)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT ST_AsText(geom) FROM household WHERE code = 'BK-0'")) == "POINT(119.881 28.455)"
    engine.dispose()


def test_restore_of_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(BackupError):
        restore(TEST_DATABASE_URL, tmp_path / "nothing.dump")
