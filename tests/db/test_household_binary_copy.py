"""Households reach the table through binary COPY (gridmap.households.writes, gridmap.pgcopy): odd values
come back exactly as the file had them, on both the new-row and the update path."""

from __future__ import annotations

import csv

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from gridmap import pgcopy
from gridmap.errors import Unprocessable
from gridmap.households import writes
from gridmap.households.models import Household
from gridmap.imports import households as importer
from tests import factories as f

HEADER = ["户号", "地址", "经度", "纬度", "户主", "电话", "人数", "标签", "风险等级"]
ROWS = [
    ["Q-1", '中山街"12"号\t3幢\n2单元 \\ 东侧', "119.8812345", "28.4551234", "张三", "", "3", "", "高"],
    ["Q-2", "", "119.882", "28.455", "", "13800000000", "", '低保户;{独居}、"引号"\\斜杠', ""],
    ["Q-3", "逗号,分号;地址", "119.883", "28.456", "O'Brien 李", "+86 571-1234", "99", "出租房|出租房",
     "low"],
    ["Q-4", "NULL", "119.884", "28.457", "NULL", "\\N", "1", "NULL", "中风险"],
]
EXPECTED = {
    "Q-1": ('中山街"12"号\t3幢\n2单元 \\ 东侧', (119.8812345, 28.4551234), "张三", None, 3, [], "high"),
    "Q-2": ("", (119.882, 28.455), None, "13800000000", None, ["低保户", "{独居}", '"引号"\\斜杠'], None),
    "Q-3": ("逗号,分号;地址", (119.883, 28.456), "O'Brien 李", "+86 571-1234", 99, ["出租房"],  # each tag once
            "low"),
    "Q-4": ("NULL", (119.884, 28.457), "NULL", "\\N", 1, ["NULL"], "medium"),
}


def _write_csv(path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


def _stored(db_session) -> dict[str, tuple]:
    db_session.expire_all()
    out = {}
    for h in db_session.scalars(select(Household)):
        point = to_shape(h.geom)
        out[h.code] = (h.address, (round(point.x, 7), round(point.y, 7)), h.head_name, h.phone, h.size,
                       h.tags, h.risk_level)
    return out


@pytest.mark.parametrize("bulk", [False, True], ids=["row-by-row indexes", "bulk rebuild"])
def test_odd_values_round_trip_through_binary_copy(db_session, tmp_path, monkeypatch, bulk):
    monkeypatch.setattr(writes, "BULK_REBUILD_MIN_ROWS", 1 if bulk else 10**9)
    grids = f.lishui(db_session)["grids"]
    path = tmp_path / "h.csv"
    _write_csv(path, ROWS)
    result = importer.import_households(db_session, str(path), "h.csv")
    assert result["created"] == 4 and result["error_count"] == 0
    assert _stored(db_session) == EXPECTED
    grid_ids = {h.code: h.grid_id for h in db_session.scalars(select(Household))}
    assert grid_ids["Q-1"] == grids[f.GRID_A].id


def test_updates_go_through_the_staging_table_in_binary_too(db_session, tmp_path):
    f.lishui(db_session)
    path = tmp_path / "h.csv"
    _write_csv(path, ROWS)
    importer.import_households(db_session, str(path), "h.csv")
    changed = [["Q-1", "新地址\\n不是换行", "119.8812345", "28.4551234", "", "电话\t1", "", "甲、乙", ""],
               ["Q-9", "新户", "119.885", "28.458", "王五", "", "2", "", "低"]]
    _write_csv(path, changed)
    result = importer.import_households(db_session, str(path), "h.csv")
    assert (result["created"], result["updated"]) == (1, 1)
    stored = _stored(db_session)
    assert stored["Q-1"] == ("新地址\\n不是换行", (119.8812345, 28.4551234), None, "电话\t1", None,
                             ["甲", "乙"], None)
    assert stored["Q-9"] == ("新户", (119.885, 28.458), "王五", None, 2, [], "low")
    assert stored["Q-2"] == EXPECTED["Q-2"]


def test_a_fractional_size_is_a_row_error_not_a_crash(db_session, tmp_path):
    f.lishui(db_session)
    path = tmp_path / "h.csv"
    _write_csv(path, [["F-1", "", "119.881", "28.455", "", "", "2.5", "", ""],
                      ["F-2", "", "119.882", "28.455", "", "", "2", "", ""]])
    with pytest.raises(Unprocessable) as caught:
        importer.import_households(db_session, str(path), "h.csv")
    errors = caught.value.details["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(2, "人数")]
    result = importer.import_households(db_session, str(path), "h.csv", skip_errors=True)
    assert (result["created"], result["error_count"]) == (1, 1)
    assert _stored(db_session)["F-2"][4] == 2


def test_an_import_in_many_chunks_assigns_and_stores_every_row(db_session, tmp_path, monkeypatch):
    # chunk sizes of a few rows: the first chunk, the later ones and a short last one
    monkeypatch.setattr(pgcopy, "FIRST_COPY_CHUNK", 3)
    monkeypatch.setattr(pgcopy, "COPY_CHUNK", 4)
    grids = f.lishui(db_session)["grids"]
    # grid A (119.880–119.890), grid C (east), and outside every grid, in turn
    places = [(119.885, 28.455, grids[f.GRID_A].id), (119.930, 28.450, grids[f.GRID_C].id), (100.0, 30.0, None)]
    rows = [[f"C-{k}", f"地址{k}", str(places[k % 3][0]), str(places[k % 3][1]), "", "", str(k % 9 + 1), "", ""]
            for k in range(23)]
    path = tmp_path / "h.csv"
    _write_csv(path, rows)
    result = importer.import_households(db_session, str(path), "h.csv")
    assert (result["created"], result["assigned"]) == (23, 16)
    stored = {h.code: (h.grid_id, h.size, h.address) for h in db_session.scalars(select(Household))}
    assert stored == {f"C-{k}": (places[k % 3][2], k % 9 + 1, f"地址{k}") for k in range(23)}
    # and again, every row an update
    rows = [[r[0], r[1] + "改", *r[2:]] for r in rows]
    _write_csv(path, rows)
    result = importer.import_households(db_session, str(path), "h.csv")
    assert (result["created"], result["updated"], result["assigned"]) == (0, 23, 16)
    db_session.expire_all()
    assert {h.code: h.address for h in db_session.scalars(select(Household))} == {
        f"C-{k}": f"地址{k}改" for k in range(23)}
