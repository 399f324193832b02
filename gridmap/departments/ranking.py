"""The 平安报表's department ranking (部门报到排名): per department, the items whistled to it in a
period (in the caller's area), how many it 报到'd on time, how many it fed back and how many of
those items are closed; ranked by on-time 报到 rate, then closure rate. Kept apart from
gridmap.hazard_stats.safety (additive: its own query, its own table on the page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.clock import now as clock_now
from gridmap.departments.models import Department, HazardAssignment
from gridmap.hazards.models import Hazard


def _count(condition) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def department_ranking(session: Session, scope: Scope, *, within: str | None, start: datetime, end: datetime,
                       now: datetime | None = None) -> list[dict[str, Any]]:
    """Departments with an item whistled to them in [start, end) in the area, best first."""
    asof = min(now or clock_now(), end)
    rows = session.execute(
        select(Department.code, Department.name, func.count().label("sent"),
               _count(HazardAssignment.reported_at <= HazardAssignment.report_by).label("on_time"),
               _count(HazardAssignment.reported_at.is_not(None)).label("reported"),
               _count(and_(HazardAssignment.reported_at.is_(None), HazardAssignment.report_by < asof)).label("overdue"),
               _count(HazardAssignment.fed_back_at.is_not(None)).label("fed_back"),
               _count(Hazard.status == "closed").label("closed"))
        .join(HazardAssignment, HazardAssignment.department_id == Department.id)
        .join(Hazard, Hazard.id == HazardAssignment.hazard_id)
        .where(scope.where(Hazard.grid_code, within), HazardAssignment.whistled_at >= start,
               HazardAssignment.whistled_at < end)
        .group_by(Department.id)).mappings().all()
    items = [{**row, "on_time_rate": round(row["on_time"] / row["sent"], 4),
              "closure_rate": round(row["closed"] / row["sent"], 4)} for row in rows]
    items.sort(key=lambda i: (-i["on_time_rate"], -i["closure_rate"], i["overdue"], i["code"]))
    for rank, item in enumerate(items, start=1):
        item["rank"] = rank
    return items
