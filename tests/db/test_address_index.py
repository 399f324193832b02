"""The address trigram index is dropped by a city's first large import and built after its
commit, once, by one builder (gridmap.households.address_index); address search works in
between, and a failed build leaves it missing for the next one to build."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from gridmap.addresses import service as addresses
from gridmap.auth.scope import Scope
from gridmap.households import address_index, writes
from gridmap.imports import households as importer
from tests import factories as f

CSV = "户号,地址,经度,纬度\n" + "".join(f"ADDR-{i},丽水市莲都区人民街{i}号,119.88{i % 10},28.455\n" for i in range(30))
DEFINITION = text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_household_address_trgm'")


@pytest.fixture
def first_large_load(db_session, tmp_path, monkeypatch):
    monkeypatch.setattr(writes, "BULK_REBUILD_MIN_ROWS", 10)
    f.lishui(db_session)
    path = tmp_path / "h.csv"
    path.write_text(CSV, encoding="utf-8")

    def load():
        return importer.import_households(db_session, str(path), "h.csv")
    return load


def _found(db_session, typed: str) -> list[str]:
    return [item["address"] for item in addresses.search(db_session, Scope.everything(), typed)["items"]]


def test_a_first_large_load_leaves_the_index_to_its_caller_who_builds_it_as_the_migration_did(
        db_session, first_large_load):
    migrated = db_session.scalar(DEFINITION)
    assert migrated and "gin_trgm_ops" in migrated
    assert first_large_load()["created"] == 30
    assert not address_index.present(db_session)
    assert _found(db_session, "人民街17号") == ["丽水市莲都区人民街17号"]  # found without the index
    assert address_index.ensure(db_session) is True
    assert db_session.scalar(DEFINITION) == migrated
    assert _found(db_session, "人民街17号") == ["丽水市莲都区人民街17号"]
    assert address_index.ensure(db_session) is False  # there already: nothing to do
    assert db_session.scalar(DEFINITION) == migrated


def test_a_small_import_keeps_the_index(db_session, tmp_path):
    f.lishui(db_session)
    path = tmp_path / "h.csv"
    path.write_text(CSV, encoding="utf-8")
    importer.import_households(db_session, str(path), "h.csv")
    assert address_index.present(db_session)


def test_only_one_builder_builds(app, db_session, first_large_load):
    first_large_load()
    other = app.extensions["gridmap.db"].engine.connect()
    try:
        with other.begin():
            other.execute(address_index._BUILDER_LOCK)  # another builder holds the lock
            assert address_index.ensure(db_session) is False
            assert not address_index.present(db_session)
        assert address_index.ensure(db_session) is True  # the lock is free again
    finally:
        other.close()
    assert address_index.present(db_session)


def test_a_failed_build_is_logged_leaves_the_index_missing_and_the_next_one_builds_it(
        db_session, first_large_load, monkeypatch, caplog):
    first_large_load()

    def refused(*args, **kwargs):
        raise RuntimeError("server went away")

    with monkeypatch.context() as patch:
        patch.setattr(address_index, "CreateIndex", refused)
        with caplog.at_level(logging.ERROR, logger=address_index.__name__):
            address_index.ensure_quietly(db_session)  # after an answer: never raises
    assert "ix_household_address_trgm" in caplog.text
    assert not address_index.present(db_session)
    assert db_session.scalar(text("SELECT count(*) FROM household")) == 30  # the import stays
    assert address_index.ensure(db_session) is True
