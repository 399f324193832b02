"""Area codes have their level's length, so a code prefix is always a whole area.

The statistical division code: district 6 digits, street 9 (district + 3), community 12
(street + 3), and a grid extends its community's code by 3 (15). A code of any other
length would let a prefix reach into a sibling: were ``3311020010011`` a grid, its prefix
would also cover ``331102001001100``–``199``. Imports, the database (CHECK constraints on
admin_unit, grid and app_user) and user creation (gridmap.auth.scope.valid_scope) all hold
codes to these lengths.
"""

from __future__ import annotations

LEVEL_LENGTHS = {"district": 6, "street": 9, "community": 12, "grid": 15}
GRID_LENGTH = LEVEL_LENGTHS["grid"]


def level_of(code: str) -> str | None:
    """The level a code's length says it is, or None when it is no area code at all."""
    if not code.isdigit():
        return None
    return next((level for level, length in LEVEL_LENGTHS.items() if len(code) == length), None)

