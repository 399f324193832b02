"""The one scope helper: a user sees only rows whose area code starts with their prefix.

Routes never hand-roll scope filters; services take a ``Scope`` and call
``where()`` for lists and ``require()`` for single objects (404 outside scope).

Every API operation declares which of the ``RULES`` below limits the rows it reaches
(``operation(..., scope=...)``): README's access table shows it, the operation
decorator enforces it on a ``<code>`` in the path, and tests/api/test_scope_rows.py and
test_scope_writes.py prove every operation behaves as declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, true

from gridmap.auth.roles import ADMIN, DEPARTMENT, GRID_WORKER, PARTY_MEMBER
from gridmap.errors import NotFound

# The scope rules an operation can declare, with what README's access table says of them.
ANYONE = "anyone"
OWN_TOKEN = "own-token"
OWN_ACCOUNT = "own-account"
GLOBAL = "global"
AREA = "area"
AREA_OWN_RECORDS = "area/own-records"
AREA_OWN_CONTACTS = "area/own-contacts"
PUBLIC_RULE = "public"
AREA_DEPARTMENT = "area/department"

RULES = {
    ANYONE: "no login; reaches no rows",
    PUBLIC_RULE: "no login (the residents' form, gridmap.public): one grid named in the path or form, a report "
                 "by its tracking code; answers carry no person's data (no name, phone or description)",
    OWN_TOKEN: "the caller's own token only",
    OWN_ACCOUNT: "the caller's own account only",
    GLOBAL: "reference data or a whole-database job: no per-area rows (admin-only when it writes)",
    AREA: "objects and locations whose area code starts with the caller's prefix (a grid worker's prefix "
          "is their grid, a party member's their grid): 404 for an object outside, 422 for a location outside",
    AREA_OWN_RECORDS: "area, and grid workers and party members only their own check-ins and tracks "
                      "(a check-in is recorded as the caller; its household must be in the area)",
    AREA_OWN_CONTACTS: "area, and a party member only themself and the households they look after",
    AREA_DEPARTMENT: "area, and a department user only the items whistled to its department in the categories "
                     "it owns: 404 for any other",
}
# Rules under which a ``<code>`` in the path must lie inside the caller's prefix.
AREA_RULES = (AREA, AREA_OWN_RECORDS, AREA_OWN_CONTACTS, AREA_DEPARTMENT)

# A user's scope: "" (everything), a city's 4 digits (province 2 + city 2: ``3311`` 丽水市, the
# level above the districts gridmap keeps as units, for a city-wide supervisor or planner) or one
# area's code at its level's length (gridmap.areas.codes: district 6, street 9, community 12,
# grid 15); a grid worker's or party member's is their grid's.
SCOPE_PATTERN = re.compile(r"(?:[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})?")
GRID_SCOPE_PATTERN = re.compile(r"[0-9]{15}")
GRID_SCOPED_ROLES = (GRID_WORKER, PARTY_MEMBER)
# A department user's area: a district or a street.
DEPARTMENT_SCOPE_PATTERN = re.compile(r"[0-9]{6}|[0-9]{9}")


def valid_scope(role: str, code: str) -> bool:
    """Whether ``code`` may be the scope of a user with ``role``."""
    pattern = (GRID_SCOPE_PATTERN if role in GRID_SCOPED_ROLES
               else DEPARTMENT_SCOPE_PATTERN if role == DEPARTMENT else SCOPE_PATTERN)
    return pattern.fullmatch(code) is not None


@dataclass(frozen=True)
class Scope:
    prefix: str  # "" sees everything
    role: str = ADMIN
    user_id: int | None = None
    username: str = "system"
    party_member_id: int | None = None
    department_id: int | None = None  # a department user's department

    @classmethod
    def everything(cls) -> Scope:
        return cls(prefix="")

    def covers(self, code: str) -> bool:
        return code.startswith(self.prefix)

    def narrow(self, within: str | None) -> str | None:
        """The effective prefix for a ``within`` filter, or None when nothing can match."""
        if not within:
            return self.prefix
        if not within.isdigit():  # codes are digits; anything else matches no area
            return None
        if within.startswith(self.prefix):
            return within
        if self.prefix.startswith(within):
            return self.prefix
        return None

    def like_pattern(self, within: str | None = None) -> str | None:
        """A LIKE pattern for the effective prefix (codes are digits: nothing to escape)."""
        prefix = self.narrow(within)
        return None if prefix is None else prefix + "%"

    def where(self, column: ColumnElement[str], within: str | None = None) -> ColumnElement[bool]:
        pattern = self.like_pattern(within)
        if pattern is None:
            return false()
        if pattern == "%":
            return true()
        return column.like(pattern)

    def require(self, code: str | None, not_found_code: str = "not_found", **params: object) -> None:
        """404 ``not_found_code`` unless ``code`` lies in the scope: an object's area code, or
        None for an object that does not exist (the same answer, so a caller learns nothing of
        what lies outside). The error names ``params``, or else the code."""
        if code is None or not self.covers(code):
            raise NotFound(not_found_code, **(params or {"code": code}))

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def is_grid_worker(self) -> bool:
        return self.role == GRID_WORKER

    @property
    def is_party_member(self) -> bool:
        return self.role == PARTY_MEMBER
