"""Keys for check-ins written without one (a bulk load such as the demo's year).

Every ``checkin`` row has its ``checkin_key`` row: the key is what makes a client's id unique
across the month partitions (gridmap.patrol.models). A check-in stored without one was sent
again as new: a second row under the same id in another month, or a unique violation in the
same month. The key's first answer is taken from the row: its grid's code and name, its
flags, and a rank from them (3 without a grid, 2 flagged outside the worker's grids, else 0:
whether a point was inside or only near its grid is not stored, so "inside").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

KEYS_FOR_STORED_SQL = text("""
INSERT INTO checkin_key (id, user_id, recorded_at, received_at, rank, grid, grid_name, flags, household_code)
SELECT DISTINCT ON (c.id) c.id, c.user_id, c.recorded_at, c.received_at,
       CASE WHEN c.grid_id IS NULL THEN 3 WHEN 'outside_grid' = ANY(c.flags) THEN 2 ELSE 0 END,
       g.code, g.name, c.flags, h.code
  FROM checkin c
  LEFT JOIN grid g ON g.id = c.grid_id
  LEFT JOIN household h ON h.id = c.household_id
 WHERE c.recorded_at >= :since AND c.user_id = ANY(CAST(:users AS int[]))
   AND NOT EXISTS (SELECT 1 FROM checkin_key k WHERE k.id = c.id)
 ORDER BY c.id, c.recorded_at
""")


def add_missing_keys(session: Session, users: list[int], since: datetime) -> int:
    """Write the keys of ``users``' check-ins recorded from ``since`` on that have none (the
    earliest row of an id that has several); how many were written. In the caller's transaction."""
    return session.execute(KEYS_FOR_STORED_SQL, {"users": users, "since": since}).rowcount
