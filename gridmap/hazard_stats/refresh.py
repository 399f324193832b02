"""Rebuilding the heatmap's aggregates from the hazard table: the daily cells (kept on write by
gridmap.hazards.daily_cells) and the zoom pyramid (kept by triggers). For bulk loads that bypass
reporting (COPY, the benchmark) or a repair."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from gridmap.clock import CHINA_SQL
from gridmap.db import transaction
from gridmap.hazard_stats.cells import (
    DAY_LEVEL_MAX,
    PERIOD_KINDS,
    ROLLUP_LEVELS,
    STREET_DIGITS,
    midnight,
    period_end,
    period_start,
)
from gridmap.hazards.daily_cells import CELL_KEY
from gridmap.hazards.models import HazardDailyCell

REFRESH_SQL = text(f"""
INSERT INTO hazard_daily_cell (day, grid_code, category_code, ix, iy, n)
SELECT {CELL_KEY}, count(*) FROM hazard
 WHERE (CAST(:lo AS timestamptz) IS NULL OR created_at >= :lo) AND (CAST(:hi AS timestamptz) IS NULL OR created_at < :hi)
 GROUP BY 1, 2, 3, 4, 5
""")


def refresh_daily(session: Session, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Rebuild the Beijing days [since, until) (everything when open) from the hazard table, in one
    transaction: for bulk loads that bypass ``report`` (COPY, the benchmark) or a repair."""
    lo = midnight(since) if since else None
    hi = midnight(until) if until else None
    with transaction(session):
        conditions = []
        if since:
            conditions.append(HazardDailyCell.day >= since)
        if until:
            conditions.append(HazardDailyCell.day < until)
        deleted = session.execute(delete(HazardDailyCell).where(*conditions)).rowcount
        inserted = session.execute(REFRESH_SQL, {"lo": lo, "hi": hi}).rowcount
    return {"deleted": deleted, "cells": inserted}


ROLLUP_DAYS_SQL = text(f"""
CREATE TEMPORARY TABLE heat_rollup_days ON COMMIT DROP AS
SELECT level, day, street, coalesce(cat, '') AS category_code, ix, iy, count(*)::int AS n
  FROM (SELECT l.level, (h.created_at AT TIME ZONE '{CHINA_SQL}')::date AS day,
               left(h.grid_code, {STREET_DIGITS}) AS street, h.category_code AS cat,
               round(ST_X(ST_SnapToGrid(h.geom, l.size)) / l.size)::int AS ix,
               round(ST_Y(ST_SnapToGrid(h.geom, l.size)) / l.size)::int AS iy
          FROM hazard h CROSS JOIN hazard_heat_level l
         WHERE (CAST(:lo AS timestamptz) IS NULL OR h.created_at >= :lo)
           AND (CAST(:hi AS timestamptz) IS NULL OR h.created_at < :hi)) x
 GROUP BY GROUPING SETS ((level, day, street, cat, ix, iy), (level, day, street, ix, iy))
""")

ROLLUP_DELETE_SQL = text("""
DELETE FROM hazard_heat_rollup WHERE period_kind = :kind
   AND (CAST(:lo AS date) IS NULL OR period >= :lo) AND (CAST(:hi AS date) IS NULL OR period < :hi)
""")

ROLLUP_REFRESH_SQL = text("""
INSERT INTO hazard_heat_rollup (level, period_kind, period, street, category_code, ix, iy, n)
SELECT level, CAST(:kind AS varchar), date_trunc(:unit, day)::date, street, category_code, ix, iy, sum(n)
  FROM heat_rollup_days
 WHERE level <= :top AND (CAST(:lo AS date) IS NULL OR day >= :lo) AND (CAST(:hi AS date) IS NULL OR day < :hi)
 GROUP BY 1, 2, 3, 4, 5, 6, 7
""")
UNITS = {"y": "year", "m": "month", "d": "day"}


def refresh_rollup(session: Session, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Rebuild the zoom pyramid's years, months and days that touch the Beijing days
    [since, until) (everything when open) from the hazard table, in one transaction: the hazards
    are counted once per day, and the longer periods summed from those days. The triggers keep
    it current; this is the repair, and the fast path after a bulk load with the triggers off."""
    spans = {kind: (None if since is None else period_start(kind, since),
                    None if until is None else period_end(kind, period_start(kind, until - timedelta(days=1))))
             for kind in PERIOD_KINDS}
    lo = None if since is None else min(span[0] for span in spans.values())
    hi = None if until is None else max(span[1] for span in spans.values())
    rows = 0
    with transaction(session):
        # Reports wait until the rebuild commits: one committed meanwhile would have its trigger's
        # +1 deleted below and not be in the days counted above.
        session.execute(text("LOCK TABLE hazard IN SHARE MODE"))
        session.execute(ROLLUP_DAYS_SQL, {"lo": midnight(lo) if lo else None, "hi": midnight(hi) if hi else None})
        for kind, (k_lo, k_hi) in spans.items():
            params = {"kind": kind, "unit": UNITS[kind], "lo": k_lo, "hi": k_hi,
                      "top": DAY_LEVEL_MAX if kind == "d" else max(ROLLUP_LEVELS)}
            session.execute(ROLLUP_DELETE_SQL, params)
            rows += session.execute(ROLLUP_REFRESH_SQL, params).rowcount
        session.execute(text("DROP TABLE heat_rollup_days"))  # the session may go on (a savepoint)
    return {"rows": rows}
