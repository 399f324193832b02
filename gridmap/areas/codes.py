"""Area codes have their level's length, so a code prefix is always a whole area.

The statistical division code: district 6 digits, street 9 (district + 3), community 12
(street + 3), and a grid extends its community's code by 3 (15). A code of any other
length would let a prefix reach into a sibling: were ``3311020010011`` a grid, its prefix
would also cover ``331102001001100``–``199``. Imports, the database (CHECK constraints on
admin_unit, grid and app_user) and user creation all hold codes to these lengths.

A user's scope may also be a city's 4 digits (province 2 + city 2: ``3311`` 丽水市), the
level above the districts gridmap keeps as units, for a city-wide supervisor or planner.
"""

from __future__ import annotations

import re

LEVEL_LENGTHS = {"district": 6, "street": 9, "community": 12, "grid": 15}
GRID_LENGTH = LEVEL_LENGTHS["grid"]
CITY_LENGTH = 4
# A user's scope: "" (everything), a city or one area's code; a grid worker's or party member's a grid.
SCOPE_PATTERN = re.compile(r"(?:[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})?")
GRID_SCOPED_ROLES = ("grid_worker", "party_member")


def level_of(code: str) -> str | None:
    """The level a code's length says it is, or None when it is no area code at all."""
    if not code.isdigit():
        return None
    return next((level for level, length in LEVEL_LENGTHS.items() if len(code) == length), None)


def valid_scope(role: str, code: str) -> bool:
    """Whether ``code`` may be the scope of a user with ``role``."""
    if role in GRID_SCOPED_ROLES:
        return level_of(code) == "grid"
    return SCOPE_PATTERN.fullmatch(code) is not None
