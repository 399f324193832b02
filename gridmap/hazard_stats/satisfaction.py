"""The 平安报表's 回访 satisfaction: per street, community and grid, the 回访 answers given in the
month (by phone or on the status page; every answer counts, a 不满意 and the later 满意 of one
item both), and the rate (满意 + 基本满意) / answered, coloured against the target
(Settings.satisfaction_target, 95% by default): at or above it green, below it red, nothing
answered no colour. One SQL statement (GROUPING SETS), apart from the report's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.hazards.models import SATISFIED

_SQL = text("""
SELECT coalesce(left(h.grid_code, 9), left(h.grid_code, 12), h.grid_code) AS code, count(*) AS answered,
       count(*) FILTER (WHERE r.answer = ANY(:satisfied)) AS satisfied
FROM hazard_revisit r JOIN hazard h ON h.id = r.hazard_id
WHERE h.grid_code LIKE :prefix AND r.at >= :start AND r.at < :end
GROUP BY GROUPING SETS ((left(h.grid_code, 9)), (left(h.grid_code, 12)), (h.grid_code))
""")


def satisfaction(session: Session, like_pattern: str, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """{area code: (answered, satisfied)} for the month's answers in the area."""
    rows = session.execute(_SQL, {"prefix": like_pattern, "start": start, "end": end,
                                  "satisfied": list(SATISFIED)}).all()
    return {code: (answered, satisfied) for code, answered, satisfied in rows}


def columns(counts: tuple[int, int] | None, target: float) -> dict[str, Any]:
    """An item's satisfaction columns: answered, rate and its colour against the target."""
    answered, satisfied = counts or (0, 0)
    rate = round(satisfied / answered, 4) if answered else None
    return {"satisfaction_answered": answered, "satisfaction_rate": rate,
            "satisfaction_colour": None if rate is None else "green" if rate >= target else "red"}
