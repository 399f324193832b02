"""Monthly partitions of ``checkin``: create them ahead, drop them after the retention period.

The work is done by SQL functions installed by migration 0003 (so a database-side
scheduler such as pg_cron could call them too); ``scripts/gridmap patrol-partitions``
and ``patrol-retention`` call them from cron. Months are China's (Asia/Shanghai).
A check-in whose month has no partition yet lands in the DEFAULT partition and moves
into its month's partition when that is created: nothing is ever refused for its date.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.clock import add_months, this_month
from gridmap.db import transaction


def list_partitions(session: Session) -> list[dict[str, object]]:
    """Every partition of ``checkin`` with its bounds and approximate row count."""
    rows = session.execute(text("""
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound, c.reltuples::bigint AS rows
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'public.checkin'::regclass ORDER BY c.relname
    """)).all()
    return [{"name": r.relname, "bound": r.bound, "rows": max(int(r.rows), 0)} for r in rows]


def ensure_partitions(session: Session, months_ahead: int, today: date | None = None) -> list[str]:
    """Create the partitions of the current month and the next ``months_ahead``; return the new ones."""
    start = this_month(today)
    created = []
    with transaction(session):
        for k in range(months_ahead + 1):
            month = add_months(start, k)
            if session.scalar(text("SELECT checkin_ensure_month(:m)"), {"m": month}):
                created.append(session.scalar(text("SELECT checkin_partition_name(:m)"), {"m": month}))
    return created


def drop_old_partitions(session: Session, keep_months: int, today: date | None = None) -> list[str]:
    """Drop every month older than the current month minus ``keep_months``.

    With 24, in November 2026 the partitions up to October 2024 go; November 2024 stays.
    Rows of those months in the DEFAULT partition and their idempotency keys go too.
    """
    if keep_months < 1:
        raise ValueError("keep_months must be at least 1")
    cutoff = add_months(this_month(today), -keep_months)
    with transaction(session):
        dropped = list(session.scalars(text("SELECT checkin_drop_before(:c)"), {"c": cutoff}))
    return dropped
