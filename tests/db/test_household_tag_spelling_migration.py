"""Migration 0044: tags stored before look-alikes of sensitive tags were spelled as them are
re-spelled, so they are masked; other tags and households stay as they were."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text

from tests import factories as f

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0044_household_tags_in_one_spelling.py"


def _upgrade(db_session) -> None:
    spec = importlib.util.spec_from_file_location("m0044", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Operations.context(MigrationContext.configure(db_session.connection())):
        module.upgrade()


def test_look_alike_tags_stored_before_become_the_sensitive_tag(db_session):
    world = f.lishui(db_session)
    grid = world["grids"][f.GRID_A]
    for code, tags in (("T-1", ["独居", "社区矫正\u3164", "低保户"]), ("T-2", ["刑満釈放", "刑满释放"]),
                       ("T-3", ["独居", "獨居老人"]), ("T-4", ["\u2800"])):
        f.household(db_session, code, 119.885, 28.455, grid, tags=tags)
    before = dict(db_session.execute(text("SELECT code, version FROM household WHERE code LIKE 'T-%'")).all())
    _upgrade(db_session)
    after = dict(db_session.execute(text("SELECT code, tags FROM household WHERE code LIKE 'T-%'")).all())
    assert after == {"T-1": ["独居", "社区矫正", "低保户"], "T-2": ["刑满释放"], "T-3": ["独居", "獨居老人"], "T-4": []}
    assert dict(db_session.execute(text("SELECT code, version FROM household WHERE code LIKE 'T-%'")).all()) == before
