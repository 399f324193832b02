"""The command line of API.md: create-user, import-areas, import-households, assign."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from gridmap.areas.models import Grid
from gridmap.auth.models import User
from gridmap.households.models import Household
from tests import factories as f

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_create_user_reads_password_from_stdin(app, db_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "wang", "--role", "supervisor", "--scope", f.STREET,
                                 "--password-stdin"], input="long-enough-pw\n")
    assert result.exit_code == 0, result.output
    user = db_session.scalar(select(User).where(User.username == "wang"))
    assert user.role == "supervisor" and user.scope_code == f.STREET
    short = runner.invoke(args=["create-user", "li", "--role", "admin", "--password-stdin"], input="short\n")
    assert short.exit_code != 0


def test_import_areas_and_households_from_the_command_line(app, db_session, tmp_path):
    f.lishui(db_session)
    runner = app.test_cli_runner()
    grids = runner.invoke(args=["import-areas", str(FIXTURES / "geo" / "grids_lishui_shp.zip"), "--level", "grid"])
    assert grids.exit_code == 0, grids.output
    assert "更新 2" in grids.output
    csv = tmp_path / "户.csv"
    csv.write_text("户号,经度,纬度\nC-1,119.915,28.455\nC-2,119.700,28.300\n", encoding="utf-8")
    households = runner.invoke(args=["import-households", str(csv)])
    assert households.exit_code == 0, households.output
    assert "导入 2 户" in households.output and "不在任何网格内 1" in households.output
    assigned = runner.invoke(args=["assign"])
    assert assigned.exit_code == 0 and "变动 0" in assigned.output
    assert db_session.scalar(select(func.count()).select_from(Household).where(Household.grid_id.isnot(None))) == 1


def test_the_command_line_import_builds_the_address_index_a_first_large_load_dropped(app, db_session, tmp_path,
                                                                                    monkeypatch):
    from gridmap.households import address_index, writes

    monkeypatch.setattr(writes, "BULK_REBUILD_MIN_ROWS", 2)
    f.lishui(db_session)
    csv = tmp_path / "户.csv"
    csv.write_text("户号,地址,经度,纬度\nC-1,人民街1号,119.915,28.455\nC-2,人民街2号,119.916,28.455\n",
                   encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-households", str(csv)])
    assert result.exit_code == 0, result.output
    assert "建立地址检索索引" in result.output and "导入 2 户" in result.output
    assert address_index.present(db_session)


def test_db_upgrade_to_head_builds_a_missing_address_index(app, db_session):
    from gridmap.households import address_index

    address_index.drop(db_session)  # as a crash between an import's commit and the build leaves it
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert address_index.present(db_session)


def test_import_errors_are_listed_and_exit_nonzero(app, db_session):
    f.lishui(db_session)
    before = db_session.scalar(select(func.count()).select_from(Grid))
    result = app.test_cli_runner().invoke(
        args=["import-areas", str(FIXTURES / "lishui_grids_bad.geojson"), "--level", "grid"])
    assert result.exit_code == 2
    assert "第 2 个要素" in result.output and "自相交" in result.output
    assert db_session.scalar(select(func.count()).select_from(Grid)) == before


def test_readme_lists_every_command(app):
    """The README's command table names every command `scripts/gridmap` has, and no other."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("### The command line")[1].split("\n\n")[2]
    listed = {name for row in table.splitlines()[2:]
              for name in re.findall(r"`([a-z-]+)(?: [^`]*)?`", row.split(" | ")[0])}
    assert listed == set(app.cli.list_commands(None))


def test_serve_warns_when_its_secret_key_is_temporary(app, monkeypatch):
    """Without SECRET_KEY a server signs with a key of its own: logins end at a restart and two
    servers do not accept each other's cookies (README: How it grows), so serve says so."""
    served = []
    monkeypatch.setattr("gridmap.serving.serve", lambda *args: served.append(args[1:]))
    runner = app.test_cli_runner()
    monkeypatch.delenv("SECRET_KEY", raising=False)
    bare = runner.invoke(args=["serve", "--port", "5999", "--workers", "1"])
    monkeypatch.setenv("SECRET_KEY", "shared-by-every-server")
    keyed = runner.invoke(args=["serve", "--port", "5999", "--workers", "1"])
    assert bare.exit_code == 0 and keyed.exit_code == 0, bare.output + keyed.output
    assert "SECRET_KEY" in bare.stderr and "SECRET_KEY" not in keyed.stderr
    assert served == [("127.0.0.1", 5999, 1, 4)] * 2
