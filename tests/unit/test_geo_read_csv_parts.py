"""A CSV read in parts (gridmap.geo.readers.csv.read_parts, what the household import uses)
gives exactly the rows, columns, row positions and errors of the whole-file read, wherever
the parts are cut: inside quoted fields with line breaks and quotes, after a BOM, in
GB18030, with blank lines, with CRLF, and with a too-wide row starting a part."""

from __future__ import annotations

import csv as pycsv
import io
import random

import pandas as pd
import pytest

from gridmap.geo.file_errors import FileReadError
from gridmap.geo.readers import csv

SIZES = (1, 2, 3, 5, 8, 13, 64, 1 << 20)


def _whole_and_parts(path, monkeypatch, part_bytes):
    try:
        whole, whole_error = csv.read(str(path)), None
    except FileReadError as error:
        whole, whole_error = None, (error.code, error.params)
    monkeypatch.setattr(csv, "PART_BYTES", part_bytes)
    try:
        parts, parts_error = list(csv.read_parts(str(path))), None
    except FileReadError as error:
        parts, parts_error = None, (error.code, error.params)
    return whole, whole_error, parts, parts_error


def _same(path, monkeypatch) -> None:
    for size in SIZES:
        whole, whole_error, parts, parts_error = _whole_and_parts(path, monkeypatch, size)
        assert parts_error == whole_error, size
        if whole is None:
            continue
        assert all(len(p) <= max(size, 64) for p in parts) or size == 1 << 20
        got = pd.concat(parts)
        assert list(got.columns) == list(whole.columns), size
        assert got.index.tolist() == whole.index.tolist(), size
        assert got.to_numpy().tolist() == whole.to_numpy().tolist(), size


def _csv_text(rows) -> str:
    buffer = io.StringIO()
    pycsv.writer(buffer).writerows(rows)  # CRLF line ends, quotes doubled
    return buffer.getvalue()


ROWS = [["户号", "地址", "经度"], ["a", '中山街"12"号\t3幢\n2单元 \\ 东侧', "1"], ["b", "", ""],
        ["c", "x,y", "3"], ["d", '"q"', "4"], ["e", "\n\n", "5"]]


@pytest.mark.parametrize("text, encoding", [
    (_csv_text(ROWS), "utf-8"),
    (_csv_text(ROWS), "gb18030"),
    ("\ufeff" + _csv_text(ROWS), "utf-8"),
    ("\n\n" + _csv_text(ROWS).replace("\r\n", "\n"), "utf-8"),
    (_csv_text(ROWS).rstrip("\r\n"), "utf-8"),
    ("a,b\n\n1,2\n\n\n3,4\n,\n", "utf-8"),
    ("a;b\n1;2\n3;4\n", "utf-8"),
    ("a,a,\n1,2,3\n", "utf-8"),
    ("a,b\n", "utf-8"),
], ids=["crlf-quotes", "gb18030", "bom", "blank-lines-first", "no-final-newline", "blank-rows", "semicolon",
        "duplicate-names", "header-only"])
def test_parts_read_like_the_whole_file(tmp_path, monkeypatch, text, encoding):
    path = tmp_path / "h.csv"
    path.write_bytes(text.encode(encoding))
    _same(path, monkeypatch)


@pytest.mark.parametrize("text", ["a,b\n1,2\n3,4\n5,6,7\n8,9\n", "a,b\n1,2\n5,6,7\n", "a\n1\n2\n3,4\n"])
def test_a_too_wide_row_is_reported_with_its_line_wherever_a_part_starts(tmp_path, monkeypatch, text):
    # pandas takes a part's first row one field too wide for an index column: the parts
    # must report it as the whole-file read does (第 N 行有 3 列)
    path = tmp_path / "h.csv"
    path.write_text(text, encoding="utf-8")
    for size in SIZES:
        _, whole_error, _, parts_error = _whole_and_parts(path, monkeypatch, size)
        assert whole_error is not None and parts_error == whole_error, size


def test_random_files_with_quotes_and_line_breaks(tmp_path, monkeypatch):
    rng = random.Random(7)
    alphabet = ['"', ",", "\n", "\r\n", "x", "中", " ", ";", "\t"]
    for _ in range(30):
        rows = [["code", "address", "note"]]
        rows += [[f"H{k}", "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))), rng.choice(["", "y"])]
                 for k in range(rng.randint(1, 12))]
        path = tmp_path / "r.csv"
        path.write_text(_csv_text(rows), encoding="utf-8")
        _same(path, monkeypatch)
