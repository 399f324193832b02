"""The household import reads a CSV in parts (gridmap.geo.readers.csv.PART_BYTES) and writes
each part while reading the next, yet behaves as if it read the whole file: a code repeated
in a later part is a row error (found by the database, not by codes kept in memory), a bad
row anywhere rejects the file and writes nothing, every bad row is reported, and
``skip_errors`` keeps a code's first row."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from gridmap.errors import Conflict, Unprocessable
from gridmap.geo.readers import csv as csv_reader
from gridmap.households import writes
from gridmap.households.models import Household
from gridmap.imports import households as importer
from tests import factories as f

HEADER = "户号,经度,纬度,人数\n"


def _row(code: str, lon: str = "119.885", size: str = "2") -> str:
    return f"{code},{lon},28.455,{size}\n"


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(csv_reader, "PART_BYTES", 64)  # about three rows a part


@pytest.fixture(params=["bulk rebuild", "row-by-row indexes"])
def load_path(request, monkeypatch):
    monkeypatch.setattr(writes, "BULK_REBUILD_MIN_ROWS", 1 if request.param == "bulk rebuild" else 10**9)
    return request.param


def _import(db_session, tmp_path, text: str, **kwargs):
    path = tmp_path / "h.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    return importer.import_households(db_session, str(path), "h.csv", **kwargs)


def _count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(Household))


def test_the_file_is_read_and_written_in_parts(db_session, tmp_path, small_parts, monkeypatch):
    f.lishui(db_session)
    sizes = []
    validate = importer._validate
    monkeypatch.setattr(importer, "_validate", lambda upload, *a: sizes.append(len(upload.columns)) or validate(upload, *a))
    result = _import(db_session, tmp_path, "".join(_row(f"P-{k}") for k in range(40)))
    assert result["created"] == 40 and result["assigned"] == 40 and _count(db_session) == 40
    assert len(sizes) > 10 and max(sizes) <= 4


def test_a_code_repeated_in_a_later_part_rejects_the_file(db_session, tmp_path, small_parts, load_path):
    f.lishui(db_session)
    rows = [_row(f"P-{k}") for k in range(20)] + [_row("P-3")]  # row 22 repeats row 5's code
    with pytest.raises(Unprocessable) as caught:
        _import(db_session, tmp_path, "".join(rows))
    errors = caught.value.details["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(22, "户号")] and "重复" in errors[0]["message"]
    assert _count(db_session) == 0


def test_an_existing_code_repeated_across_parts_rejects_the_file(db_session, tmp_path, small_parts, load_path):
    f.lishui(db_session)
    _import(db_session, tmp_path, _row("OLD-1") + _row("OLD-2"))
    rows = [_row("OLD-1", size="5")] + [_row(f"P-{k}") for k in range(20)] + [_row("OLD-1", size="6")]
    with pytest.raises(Unprocessable) as caught:
        _import(db_session, tmp_path, "".join(rows))
    assert [e["row"] for e in caught.value.details["errors"]] == [23]
    db_session.expire_all()
    assert _count(db_session) == 2
    assert db_session.scalar(select(Household.size).where(Household.code == "OLD-1")) == 2


def test_every_bad_row_of_every_part_is_reported_and_nothing_written(db_session, tmp_path, small_parts, load_path):
    f.lishui(db_session)
    rows = [_row(f"P-{k}") for k in range(30)]
    rows[4] = _row("P-4", size="200")          # row 6: size out of range (first part's neighbour)
    rows[15] = _row("P-15", lon="abc")         # row 17: not a number
    rows[25] = _row("P-2", lon="abc")          # row 27: repeats row 4's code and has a bad point
    with pytest.raises(Unprocessable) as caught:
        _import(db_session, tmp_path, "".join(rows))
    details = caught.value.details
    assert [(e["row"], e["field"]) for e in details["errors"]] == [(6, "人数"), (17, "经度/纬度"), (27, "户号")]
    assert details["error_count"] == 3
    assert _count(db_session) == 0


def test_skip_errors_keeps_the_first_row_of_a_repeated_code(db_session, tmp_path, small_parts, load_path):
    f.lishui(db_session)
    rows = [_row(f"P-{k}") for k in range(20)] + [_row("P-3", size="9"), _row("P-30", size="500")]
    result = _import(db_session, tmp_path, "".join(rows), skip_errors=True)
    assert (result["created"], result["error_count"]) == (20, 2)
    assert [e["row"] for e in result["errors"]] == [22, 23]
    assert db_session.scalar(select(Household.size).where(Household.code == "P-3")) == 2


def test_a_new_code_repeated_across_parts_of_a_later_import_rejects_the_file(db_session, tmp_path, small_parts,
                                                                              load_path):
    f.lishui(db_session)
    _import(db_session, tmp_path, _row("OLD-1") + _row("OLD-2"))
    rows = [_row(f"P-{k}") for k in range(20)] + [_row("P-3", size="7")]  # row 22 repeats row 5's new code
    with pytest.raises(Unprocessable) as caught:
        _import(db_session, tmp_path, "".join(rows))
    assert [e["row"] for e in caught.value.details["errors"]] == [22]
    db_session.expire_all()
    assert _count(db_session) == 2


@pytest.mark.parametrize("skip", [False, True])
def test_a_code_another_writer_inserted_meanwhile_is_a_conflict_not_an_error_list(db_session, tmp_path, monkeypatch,
                                                                                    skip):
    """The database finds a code twice that the file holds once: another writer's came in while
    this import ran (simulated: the last COPY meets it). 409, nothing written, no empty error list."""
    f.lishui(db_session)

    def meets_another_writers_code(self):
        raise writes.DuplicateCode()

    monkeypatch.setattr(writes.HouseholdWriter, "finish", meets_another_writers_code)
    with pytest.raises(Conflict) as caught:
        _import(db_session, tmp_path, "".join(_row(f"P-{k}") for k in range(5)), skip_errors=skip)
    assert caught.value.code == "import_codes_concurrent" and caught.value.status == 409
    assert _count(db_session) == 0
