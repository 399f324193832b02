"""The inbox's household sections, one set-wise query each: sensitive edits waiting for the
caller's approval, and the 五必访 households of a grid worker's grid still due a visit this month.

Neither shows a name or a phone. An approval shows which household waits, not what was proposed
(that is GET /api/v1/household-changes, audited). A due visit shows the household's address and
the visit tags it is due for, as the patrol coverage does (gridmap.patrol.tracks): a masked
viewer's list is built on the tags that are not sensitive (gridmap.auth.masking.visit_tags_shown),
and an unmasked list naming a sensitive tag is recorded in the audit log by the caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope

_APPROVALS_SQL = text("""
SELECT c.id, h.code AS household, h.address, c.grid_code, c.author_name, c.at, count(*) OVER () AS total
  FROM household_change c JOIN household h ON h.id = c.household_id
 WHERE c.status = 'pending' AND c.grid_code LIKE :pattern
 ORDER BY c.at, c.id
 LIMIT :limit OFFSET :offset
""")
_APPROVALS_COUNT_SQL = text("SELECT count(*) FROM household_change WHERE status = 'pending' AND grid_code LIKE :pattern")

# The 五必访 notion of the patrol coverage: a household of the grid carrying a visit tag, with no
# check-in naming it this month.
_DUE_WHERE = """
  FROM household h JOIN grid g ON g.id = h.grid_id
 WHERE h.tags && CAST(:tags AS text[]) AND g.code LIKE :pattern
   AND NOT EXISTS (SELECT 1 FROM checkin c WHERE c.household_id = h.id
                    AND c.recorded_at >= :lo AND c.recorded_at < :hi)
"""
_VISITS_SQL = text(f"""
SELECT h.code, h.address, g.code AS grid,
       ARRAY(SELECT unnest(h.tags) INTERSECT SELECT unnest(CAST(:tags AS text[])) ORDER BY 1) AS visit_tags,
       (SELECT max(c.recorded_at) FROM checkin c WHERE c.household_id = h.id AND c.recorded_at < :lo) AS last,
       count(*) OVER () AS total
{_DUE_WHERE}
 ORDER BY h.address, h.code
 LIMIT :limit OFFSET :offset
""")
_VISITS_COUNT_SQL = text(f"SELECT count(*) {_DUE_WHERE}")


def approvals(session: Session, scope: Scope, *, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Pending household changes of the caller's area, oldest first."""
    pattern = scope.like_pattern()
    if pattern is None:
        return [], 0
    rows = session.execute(_APPROVALS_SQL, {"pattern": pattern, "limit": limit, "offset": offset}).mappings().all()
    return [dict(r) for r in rows], int(rows[0]["total"]) if rows else 0


def approvals_count(session: Session, scope: Scope) -> int:
    pattern = scope.like_pattern()
    return 0 if pattern is None else int(session.scalar(_APPROVALS_COUNT_SQL, {"pattern": pattern}))


def _visit_params(scope: Scope, tags: list[str], bounds: tuple[datetime, datetime]) -> dict[str, Any] | None:
    pattern = scope.like_pattern()
    if pattern is None or not tags:
        return None
    return {"pattern": pattern, "tags": tags, "lo": bounds[0], "hi": bounds[1]}


def visits_due(session: Session, scope: Scope, *, tags: list[str], bounds: tuple[datetime, datetime], limit: int,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Households of the caller's area due a 五必访 visit in the month ``bounds``, by address."""
    params = _visit_params(scope, tags, bounds)
    if params is None:
        return [], 0
    rows = session.execute(_VISITS_SQL, {**params, "limit": limit, "offset": offset}).mappings().all()
    return [dict(r) for r in rows], int(rows[0]["total"]) if rows else 0


def visits_due_count(session: Session, scope: Scope, *, tags: list[str], bounds: tuple[datetime, datetime]) -> int:
    params = _visit_params(scope, tags, bounds)
    return 0 if params is None else int(session.scalar(_VISITS_COUNT_SQL, params))
