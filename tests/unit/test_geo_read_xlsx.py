"""gridmap.geo.readers.xlsx: Excel workbooks."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmap.geo.file_errors import EmptyFileError, FileReadError
from gridmap.geo.io import read_table
from tests.unit.geo_files import write


def make_xlsx(path: str, rows: list[list], title: str | None = None) -> str:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_xlsx_values_become_text(tmp_path):
    path = make_xlsx(
        str(tmp_path / "h.xlsx"),
        [
            ["户号", "经度", "纬度", "电话", "人数", "登记日期", "备注", None],
            ["0001", 119.92, 28.45, 13812345678, 3, dt.datetime(2024, 5, 1), None],
            [None, None, None, None, None, None, None],
            [2, 119.9301, 28.4502, "13900001111", 4.0, dt.datetime(2024, 5, 2, 8, 30), True],
        ],
        title="莲都区白云山社区住户表",
    )
    frame = read_table(path, "h.xlsx")
    assert list(frame.columns) == ["户号", "经度", "纬度", "电话", "人数", "登记日期", "备注"]
    assert frame.loc[0].tolist() == ["0001", "119.92", "28.45", "13812345678", "3", "2024-05-01", ""]
    assert frame.index.tolist() == [0, 2]
    assert frame.loc[2].tolist() == ["2", "119.9301", "28.4502", "13900001111", "4", "2024-05-02T08:30:00", "true"]
    assert frame.attrs["header_row"] == 2  # the title row was skipped
    # Spreadsheet row of a frame row: index + header_row + 1.
    assert 2 + frame.attrs["header_row"] + 1 == 5


def test_xlsx_failures(tmp_path):
    with pytest.raises(FileReadError):
        read_table(write(tmp_path, "a.xlsx", "户号,经度\n1,2\n"), "a.xlsx")
    with pytest.raises(FileReadError):
        read_table(write(tmp_path, "b.xlsx", b"PK\x03\x04 broken"), "b.xlsx")
    with pytest.raises(EmptyFileError):
        read_table(make_xlsx(str(tmp_path / "c.xlsx"), []), "c.xlsx")
    with pytest.raises(EmptyFileError):
        read_table(make_xlsx(str(tmp_path / "d.xlsx"), [["户号", "经度"]]), "d.xlsx")
