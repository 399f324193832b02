"""The parts of a Chinese address: its building (…丽景花园3幢) and the rest (2单元301), or the
street and its house number (…中山街 / 12号). Pure text rules: no Flask, no DB."""

from __future__ import annotations

import re

from gridmap.messages import message

# The words a Chinese address names its parts with (what an address is split at), as an
# import's column-name aliases are the words a header names a field with.
ADDRESS_ALIASES = {
    "numeral": "一二三四五六七八九十百",  # a building numbered in words: 三幢
    "building": ("幢", "栋", "号楼", "座"),
    "house_number": "号",  # 中山街12号
    "region": "市区县",  # the end of the city's, district's or county's name
}
_BUILDING = re.compile(rf"^(.*?(?:\d+|[{ADDRESS_ALIASES['numeral']}]+)(?:{'|'.join(ADDRESS_ALIASES['building'])}))(.*)$")
_TRAILING_NUMBER = re.compile(rf"^(.*?)(\d+{ADDRESS_ALIASES['house_number']}.*)$")
_HOUSE_NUMBER = re.compile(rf"^(.*?\d+{ADDRESS_ALIASES['house_number']})")


def split_address(address: str) -> tuple[str, str]:
    """(building, the rest): '…丽景花园3幢2单元301' → ('…丽景花园3幢', '2单元301'); a house
    number address groups by its street: '…中山街12号' → ('…中山街', '12号')."""
    address = address or ""
    match = _BUILDING.match(address)
    if match:
        return match.group(1), match.group(2) or "—"
    match = _TRAILING_NUMBER.match(address)
    if match and match.group(1):
        return match.group(1), match.group(2)
    return address or message("handbook_no_address"), "—"


def door_plate(address: str) -> str:
    """What a passer-by can read on the street: the building ('…丽景花园3幢'), or the street and
    house number ('…中山街12号'), never the unit, floor or room behind it; '' when the address
    names neither (it may be a room and nothing else)."""
    address = (address or "").strip()
    match = _BUILDING.match(address)
    if match:
        return match.group(1)
    match = _HOUSE_NUMBER.match(address)
    return match.group(1) if match else ""
