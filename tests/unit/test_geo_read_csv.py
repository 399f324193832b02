"""gridmap.geo.readers.csv: CSV tables, their encodings and separators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridmap.geo.file_errors import EmptyFileError, FileReadError
from gridmap.geo.io import read_table
from tests.unit.geo_files import fixture, write


def test_gbk_csv_fixture():
    frame = read_table(fixture("households_gbk.csv"), "households_gbk.csv")
    assert list(frame.columns) == ["户号", "地址", "经度", "纬度", "户主", "电话", "人数", "标签"]
    assert len(frame) == 3
    assert frame.loc[0, "地址"] == "莲都区白云山路12号1单元101"
    assert frame.loc[0, "户号"] == "3311020010010001"
    assert frame.loc[2, "经度"] == "28.45102"  # swapped in the file; the caller checks
    assert frame.loc[1, "标签"] == ""
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())
    assert frame.attrs["header_row"] == 1


def test_csv_utf8_bom_keeps_text_verbatim(tmp_path):
    text = "\ufeff户号, 经度 ,纬度,电话,备注\r\n0001,119.92,28.45,057112345678,NA\r\n0002,,28.45,,null\r\n"
    frame = read_table(write(tmp_path, "h.csv", text), "h.csv")
    assert list(frame.columns) == ["户号", "经度", "纬度", "电话", "备注"]
    assert frame.loc[0].tolist() == ["0001", "119.92", "28.45", "057112345678", "NA"]
    assert frame.loc[1].tolist() == ["0002", "", "28.45", "", "null"]


@pytest.mark.parametrize("sep", ["\t", ";", "|"])
def test_csv_separators(tmp_path, sep):
    text = sep.join(["户号", "经度", "纬度"]) + "\n" + sep.join(["1", "119.92", "28.45"]) + "\n"
    frame = read_table(write(tmp_path, "s.csv", text), "s.csv")
    assert frame.loc[0, "经度"] == "119.92"



def test_gbk_csv_whose_bytes_look_like_separators_to_a_utf8_parse(tmp_path):
    # 億 is 83 7C in GBK: its second byte is "|", so the UTF-8 attempt must not win. The first 8 KB
    # (what the separator sniffing decodes) are plain ASCII: only the parse itself meets the byte.
    ascii_rows = "".join(f"{k}|Baiyun Road {k}|119.93\n" for k in range(600))
    data = ("code|address|lon\n" + ascii_rows + "600|億达路1号|119.92\n").encode("gbk")
    assert len(ascii_rows) > 8192
    frame = read_table(write(tmp_path, "g.csv", data), "g.csv")
    assert frame["address"].tolist()[-2:] == ["Baiyun Road 599", "億达路1号"]
    assert frame["lon"].tolist()[-1] == "119.92"


def test_csv_quoted_commas_and_blank_rows(tmp_path):
    text = '户号,地址\n1,"白云山路12号,1单元"\n,\n\n3,"x"\n'
    frame = read_table(write(tmp_path, "q.csv", text), "q.csv")
    assert frame["户号"].tolist() == ["1", "3"]
    assert frame.loc[0, "地址"] == "白云山路12号,1单元"
    assert frame.index.tolist() == [0, 2]  # data-row positions survive dropping blanks


def test_csv_duplicate_and_blank_headers(tmp_path):
    frame = read_table(write(tmp_path, "d.csv", "a,a,,b\n1,2,3,4\n"), "d.csv")
    assert list(frame.columns) == ["a", "a.1", "Unnamed: 2", "b"]


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", EmptyFileError),
        ("户号,经度,纬度\r\n".encode("gbk"), EmptyFileError),
        (b"a,b\n,\n,\n", EmptyFileError),
        (b"a,b\n1,2\n3,4,5\n", FileReadError),
        (b"a,b\n\xff\xfe\xff,1\n", FileReadError),
    ],
)
def test_csv_failures(tmp_path, data, error):
    with pytest.raises(error) as info:
        read_table(write(tmp_path, "f.csv", data), "f.csv")
    assert info.value.code == ("empty_file" if error is EmptyFileError else "unreadable_file")


def test_csv_ragged_row_names_the_line(tmp_path):
    with pytest.raises(FileReadError) as info:
        read_table(write(tmp_path, "r.csv", "a,b\n1,2\n3,4,5\n"), "r.csv")
    assert "第 3 行" in info.value.params["reason"]


def test_big_csv_reads_as_strings(tmp_path):
    n = 50_000
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "户号": [f"{i:016d}" for i in range(n)],
            "经度": np.round(rng.uniform(119.90, 119.95, n), 6),
            "纬度": np.round(rng.uniform(28.43, 28.48, n), 6),
        }
    )
    path = str(tmp_path / "big.csv")
    frame.to_csv(path, index=False, encoding="gb18030")
    out = read_table(path, "big.csv")
    assert len(out) == n
    assert out.loc[n - 1, "户号"] == f"{n - 1:016d}"
    assert out["经度"].map(type).eq(str).all()
