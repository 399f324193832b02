"""The parts of an address: the handbook groups by building, the public search shows door plates."""

from __future__ import annotations

import pytest

from gridmap.addresses.parts import door_plate, split_address


@pytest.mark.parametrize(("address", "plate"), [
    ("丽景花园3幢2单元301", "丽景花园3幢"),
    ("丽景花园三栋501", "丽景花园三栋"),
    ("万达广场B座12号楼1801", "万达广场B座12号楼"),
    ("中山街12号", "中山街12号"),
    ("中山街12号2楼东户", "中山街12号"),
    ("莲都区中山街12号院3单元", "莲都区中山街12号"),
    ("301室", ""),
    ("", ""),
    ("  幸福小区9幢  ", "幸福小区9幢"),
])
def test_a_door_plate_never_names_the_flat(address, plate):
    assert door_plate(address) == plate


@pytest.mark.parametrize(("address", "parts"), [
    ("丽景花园3幢2单元301", ("丽景花园3幢", "2单元301")),
    ("丽景花园3幢", ("丽景花园3幢", "—")),
    ("中山街12号", ("中山街", "12号")),
    ("12号", ("12号", "—")),
])
def test_split_address_groups_by_building_or_street(address, parts):
    assert split_address(address) == parts
