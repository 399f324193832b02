"""A first, large household load rebuilds the secondary indexes instead of
maintaining them row by row — and a failed load leaves the indexes and data as they were."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select

from gridmap import pgcopy
from gridmap.households import writes
from gridmap.households.models import Household
from gridmap.imports import households as importer
from tests import factories as f

CSV = "户号,经度,纬度,标签\n" + "".join(f"BULK-{i},119.88{i % 10},28.455,出租房\n" for i in range(30))


def _index_names(db_session) -> set[str]:
    inspector = inspect(db_session.connection())
    return ({ix["name"] for ix in inspector.get_indexes("household")}
            | {fk["name"] for fk in inspector.get_foreign_keys("household")})


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(writes, "BULK_REBUILD_MIN_ROWS", 10)


def test_large_first_load_rebuilds_indexes(db_session, tmp_path, small_threshold):
    f.lishui(db_session)
    before = _index_names(db_session)
    path = tmp_path / "h.csv"
    path.write_text(CSV, encoding="utf-8")
    stages = []
    result = importer.import_households(db_session, str(path), "h.csv",
                                        progress=lambda stage, done, total: stages.append(stage))
    assert result["created"] == 30 and result["assigned"] == 30
    assert "rebuild_indexes" in stages
    assert _index_names(db_session) == before - {"ix_household_address_trgm"}
    assert "fk_household_grid_id_grid" in before and "ix_household_address_trgm" in before
    rows = db_session.scalar(select(func.count()).select_from(Household)
                             .where(func.ST_Intersects(Household.geom, func.ST_MakeEnvelope(119.879, 28.45, 119.9, 28.46, 4326)),
                                    Household.tags.any("出租房")))
    assert rows == 30


def test_a_large_first_load_keeps_the_tags_index_and_rebuilds_the_others(db_session):
    # The tags' GIN index fills its pending list during the load, on the server's core while the
    # next part is read; the address trigrams' is built after the commit (address_index)
    rebuilt = {name for name, _ in writes._secondary_indexes(db_session)}
    assert {"ix_household_geom", "ix_household_grid_id"} <= rebuilt
    assert not rebuilt & {"ix_household_tags", "ix_household_address_trgm"}


def test_failed_load_restores_indexes_and_writes_nothing(db_session, tmp_path, small_threshold, monkeypatch):
    f.lishui(db_session)
    before = _index_names(db_session)
    path = tmp_path / "h.csv"
    path.write_text(CSV, encoding="utf-8")

    def broken_copy(*args, **kwargs):
        raise RuntimeError("connection lost half-way")

    monkeypatch.setattr(pgcopy.Pipe, "send", broken_copy)
    with pytest.raises(RuntimeError):
        importer.import_households(db_session, str(path), "h.csv")
    assert _index_names(db_session) == before
    assert db_session.scalar(select(func.count()).select_from(Household)) == 0
