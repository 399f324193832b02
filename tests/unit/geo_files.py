"""What the file-reader tests share: the fixture folder, a square in Lishui, small helpers."""

from __future__ import annotations

import os

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "geo")
POLYGONS = {"Polygon", "MultiPolygon"}
SQUARE = [[119.90, 28.43], [119.95, 28.43], [119.95, 28.48], [119.90, 28.48], [119.90, 28.43]]
LISHUI = (119.88, 28.40, 119.97, 28.50)


def fixture(name: str) -> str:
    return os.path.join(FIXTURES, name)


def codes(problems) -> list:
    return [None if p is None else p.code for p in problems]


def in_lishui(geom) -> bool:
    x0, y0, x1, y1 = geom.bounds
    return LISHUI[0] < x0 < x1 < LISHUI[2] and LISHUI[1] < y0 < y1 < LISHUI[3]


def write(tmp_path, name: str, data: bytes | str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return str(path)
