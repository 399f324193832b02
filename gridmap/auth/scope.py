"""The one scope helper: a user sees only rows whose area code starts with their prefix.

Routes never hand-roll scope filters; services take a ``Scope`` and call
``where()`` for lists and ``require()`` for single objects (404 outside scope).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, true

from gridmap.auth.roles import ADMIN, GRID_WORKER, PARTY_MEMBER
from gridmap.errors import NotFound


@dataclass(frozen=True)
class Scope:
    prefix: str  # "" sees everything
    role: str = ADMIN
    user_id: int | None = None
    username: str = "system"
    party_member_id: int | None = None

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

    def require(self, code: str, not_found_code: str = "not_found") -> None:
        if not self.covers(code):
            raise NotFound(not_found_code, code=code)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def is_grid_worker(self) -> bool:
        return self.role == GRID_WORKER

    @property
    def is_party_member(self) -> bool:
        return self.role == PARTY_MEMBER
