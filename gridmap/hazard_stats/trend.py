"""The 平安报表's trend: the last N periods of one kind (weeks, months, quarters or years), per
area the closure rate, overdue count and colour of each period — the same figures and the same
red/yellow/green rule as each period's own report — and a sparkline's points, drawn as inline
SVG by the page (nothing fetched, works offline and in print)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.clock import last_periods, parse_period
from gridmap.clock import now as clock_now
from gridmap.config import PatrolRules
from gridmap.errors import Unprocessable
from gridmap.hazard_stats.safety import LEVEL_ORDER, safety_report

MAX_COUNT = 24
SPARK_WIDTH, SPARK_HEIGHT = 120, 30


def sparkline(rates: list[float | None]) -> str:
    """An SVG polyline's points for rates 0–1 over the width (periods without a rate are left out)."""
    step = SPARK_WIDTH / max(1, len(rates) - 1)
    return " ".join(f"{i * step:.1f},{(1 - rate) * SPARK_HEIGHT:.1f}"
                    for i, rate in enumerate(rates) if rate is not None)


def safety_trend(session: Session, scope: Scope, *, within: str | None, kind: str, count: int,
                 until: str | None, patrol_rules: PatrolRules, configured: Mapping[str, Any] | None = None,
                 now: datetime | None = None) -> dict[str, Any]:
    """``count`` periods of ``kind`` ending with ``until`` (a label of that kind; the current
    period by default), oldest first; per area (streets, communities, grids in ranking-level
    order, then by code) one entry per period."""
    now = now or clock_now()
    last = parse_period(until) if until else None
    if last is not None and last.kind != kind:
        raise Unprocessable("trend_until_kind", details={"until": until, "kind": kind})
    periods = last_periods(kind, min(count, MAX_COUNT), last, now)
    areas: dict[str, dict[str, Any]] = {}
    result: dict[str, Any] = {"kind": kind, "periods": [p.label for p in periods], "within": "", "areas": []}
    for period in periods:
        report = safety_report(session, scope, within=within, month=None, period=period.label,
                               patrol_rules=patrol_rules, now=now, configured=configured)
        result["within"] = report["within"]
        for item in report["items"]:
            area = areas.setdefault(item["code"], {"level": item["level"], "code": item["code"],
                                                   "name": item["name"], "series": []})
            area["series"].append({"period": period.label, "found": item["found"],
                                   "closure_rate": item["closure_rate"], "overdue": item["overdue"],
                                   "colour": item["colour"]})
    for area in areas.values():
        area["sparkline"] = sparkline([s["closure_rate"] for s in area["series"]])
    result["areas"] = sorted(areas.values(), key=lambda a: (LEVEL_ORDER[a["level"]], a["code"]))
    return result
