"""平安报表: per grid, community and street for a month — found, closed, closure rate,
on-time rate, overdue, mean handling time — with red/yellow/green by configurable
thresholds and a ranking per level. One SQL statement (GROUPING SETS) does the counting.

Definitions (month = Beijing calendar month):
- found: hazards reported in the month (refused reports, ``rejected``, are not hazards);
- closed: of those, closed before the month ended; closure_rate = closed / found;
- on_time_rate: of those found and resolved (verified) before the month ended, the share
  resolved by their resolve_by deadline;
- overdue: hazards open at the month's end (or now, for the current month) past resolve_by;
- mean_handling_hours: report → close, over the closed ones.
- patrol_coverage: 五必访 households visited in the month / those requiring a visit, from the
  patrol module's ``visit_coverage`` (``null`` where no household requires a visit; for a
  supervisor counted over the visit tags that are not sensitive, as that module shows them).
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.clock import CHINA, parse_month
from gridmap.config import PatrolRules
from gridmap.escape import spreadsheet_cell
from gridmap.labels import label

DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    # A rate at or above "green" is green, at or above "yellow" is yellow, else red.
    "closure_rate": {"green": 0.95, "yellow": 0.85},
    "on_time_rate": {"green": 0.90, "yellow": 0.75},
    # A count at or below "green" is green, at or below "yellow" is yellow, else red.
    "overdue": {"green": 0, "yellow": 2},
    "patrol_coverage": {"green": 0.90, "yellow": 0.70},
}
COLOUR_ORDER = {"red": 0, "yellow": 1, "green": 2}
HEADERS = [("level_name", "层级"), ("code", "编码"), ("name", "名称"), ("found", "发现数"), ("closed", "办结数"),
           ("closure_rate", "办结率"), ("on_time_rate", "按期办结率"), ("overdue", "超期数"),
           ("mean_handling_hours", "平均处置时长（小时）"), ("patrol_coverage", "巡查覆盖率"),
           ("colour_name", "预警"), ("rank", "排名")]


def thresholds(overrides: dict[str, Any] | None = None) -> dict[str, dict[str, float]]:
    """Defaults, then GRIDMAP_SAFETY_THRESHOLDS (JSON), then the caller's overrides."""
    result = {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
    for source in (json.loads(os.environ.get("GRIDMAP_SAFETY_THRESHOLDS") or "{}"), overrides or {}):
        for key, bands in source.items():
            if key in result:
                result[key].update({b: float(v) for b, v in bands.items() if b in ("green", "yellow")})
    return result


def colour(row: dict[str, Any], limits: dict[str, dict[str, float]]) -> str:
    """The worst colour over the indicators; an indicator with nothing to measure is green."""
    colours = []
    for key in ("closure_rate", "on_time_rate", "patrol_coverage"):
        value = row.get(key)
        colours.append("green" if value is None or value >= limits[key]["green"]
                       else "yellow" if value >= limits[key]["yellow"] else "red")
    overdue = row["overdue"]
    colours.append("green" if overdue <= limits["overdue"]["green"]
                   else "yellow" if overdue <= limits["overdue"]["yellow"] else "red")
    return min(colours, key=COLOUR_ORDER.__getitem__)


def month_bounds(month: str | None, now: datetime | None = None) -> tuple[str, datetime, datetime]:
    now = now or datetime.now(UTC)
    if month:
        first = parse_month(month)
    else:
        local = now.astimezone(CHINA)
        first = date(local.year, local.month, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=CHINA)
    end = datetime(following.year, following.month, 1, tzinfo=CHINA)
    return f"{first:%Y-%m}", start, end


_SQL = text("""
WITH g AS (
    SELECT code FROM grid WHERE code LIKE :prefix
), h AS (
    SELECT g.code AS grid_code, h.created_at, h.closed_at, h.resolved_at, h.resolve_by, h.status
    FROM g LEFT JOIN hazard h
      ON h.grid_code = g.code AND h.status <> 'rejected' AND h.created_at < :end
     AND (h.created_at >= :start OR h.closed_at IS NULL OR h.closed_at >= :start)
)
SELECT CASE WHEN grouping(left(grid_code, 9)) = 0 THEN 'street'
            WHEN grouping(left(grid_code, 12)) = 0 THEN 'community' ELSE 'grid' END AS level,
       coalesce(left(grid_code, 9), left(grid_code, 12), grid_code) AS code,
       count(created_at) FILTER (WHERE created_at >= :start) AS found,
       count(*) FILTER (WHERE created_at >= :start AND status = 'closed' AND closed_at < :end) AS closed,
       count(*) FILTER (WHERE created_at >= :start AND resolved_at < :end) AS resolved,
       count(*) FILTER (WHERE created_at >= :start AND resolved_at < :end AND resolved_at <= resolve_by) AS on_time,
       count(*) FILTER (WHERE (closed_at IS NULL OR closed_at > :asof) AND (resolved_at IS NULL OR resolved_at > :asof)
                          AND resolve_by < :asof) AS overdue,
       avg(extract(epoch FROM closed_at - created_at) / 3600.0)
           FILTER (WHERE created_at >= :start AND status = 'closed' AND closed_at < :end) AS mean_hours
FROM h
GROUP BY GROUPING SETS ((left(grid_code, 9)), (left(grid_code, 12)), (grid_code))
""")

_NAMES = text("""
SELECT code, name FROM admin_unit WHERE code = ANY(:codes)
UNION ALL SELECT code, name FROM grid WHERE code = ANY(:codes)
""")


def patrol_coverage(session: Session, scope: Scope, prefix: str, month_start: datetime,
                    patrol_rules: PatrolRules) -> dict[str, float]:
    """Share of 五必访 households visited in the month, per grid, community and street code,
    summed from the patrol module's per-grid figures (one query there, a pass over grids here)."""
    from gridmap.patrol.tracks import visit_coverage

    month = month_start.astimezone(CHINA).date().replace(day=1)
    grids = visit_coverage(session, scope, within=prefix or None, month=month, rules=patrol_rules)["grids"]
    totals: dict[str, list[int]] = {}
    for grid in grids:
        for code in {grid["code"], grid["code"][:12], grid["code"][:9]}:
            pair = totals.setdefault(code, [0, 0])
            pair[0] += grid["visited"]
            pair[1] += grid["required"]
    return {code: round(visited / required, 4) for code, (visited, required) in totals.items() if required}


def area_options(session: Session, scope: Scope) -> list[dict[str, str]]:
    """The streets and communities a user may filter the report by."""
    rows = session.execute(text(
        "SELECT code, name, level FROM admin_unit WHERE code LIKE :prefix AND level IN ('street', 'community') "
        "ORDER BY code"), {"prefix": scope.prefix + "%"}).all()
    return [{"code": c, "name": n, "level": lv, "level_name": label(lv, "level")} for c, n, lv in rows]


def safety_report(session: Session, scope: Scope, *, within: str | None, month: str | None,
                  patrol_rules: PatrolRules, now: datetime | None = None,
                  overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    month_name, start, end = month_bounds(month, now)
    limits = thresholds(overrides)
    prefix = scope.narrow(within)
    result: dict[str, Any] = {"month": month_name, "within": prefix or "", "thresholds": limits, "items": []}
    if prefix is None:
        return result
    asof = min(now, end)
    rows = session.execute(_SQL, {"prefix": prefix + "%", "start": start, "end": end, "asof": asof}).mappings().all()
    coverage = patrol_coverage(session, scope, prefix, start, patrol_rules)
    codes = [r["code"] for r in rows]
    names = dict(session.execute(_NAMES, {"codes": codes}).all()) if codes else {}
    items = []
    for r in rows:
        if r["level"] != "grid" and len(r["code"]) < len(prefix):
            continue  # a street or community only partly inside the requested area
        item = {
            "level": r["level"], "level_name": label(r["level"], "level"), "code": r["code"],
            "name": names.get(r["code"], r["code"]), "found": r["found"], "closed": r["closed"],
            "closure_rate": round(r["closed"] / r["found"], 4) if r["found"] else None,
            "on_time_rate": round(r["on_time"] / r["resolved"], 4) if r["resolved"] else None,
            "overdue": r["overdue"],
            "mean_handling_hours": round(float(r["mean_hours"]), 1) if r["mean_hours"] is not None else None,
            "patrol_coverage": coverage.get(r["code"]),
        }
        item["colour"] = colour(item, limits)
        item["colour_name"] = label(item["colour"], "colour")
        items.append(item)
    level_order = {"street": 0, "community": 1, "grid": 2}

    def rank_key(item: dict[str, Any]) -> tuple:
        """Best first: colour, closure rate, on-time rate, fewest overdue (nothing to measure counts as 100%)."""
        closure = 1.0 if item["closure_rate"] is None else item["closure_rate"]
        on_time = 1.0 if item["on_time_rate"] is None else item["on_time_rate"]
        return (level_order[item["level"]], -COLOUR_ORDER[item["colour"]], -closure, -on_time, item["overdue"],
                item["code"])

    items.sort(key=rank_key)
    for level in level_order:
        ranked = [i for i in items if i["level"] == level]
        for rank, item in enumerate(ranked, start=1):
            item["rank"] = rank
    result["items"] = items
    return result


def _cell(item: dict[str, Any], key: str) -> Any:
    """A CSV/XLSX cell: area names come from import files, so no text may start a formula."""
    value = item.get(key)
    if key in ("closure_rate", "on_time_rate", "patrol_coverage") and value is not None:
        return f"{value * 100:.1f}%"
    return "—" if value is None else spreadsheet_cell(value)


def to_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([h for _, h in HEADERS])
    for item in report["items"]:
        writer.writerow([_cell(item, k) for k, _ in HEADERS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Chinese CSV correctly


def to_xlsx(report: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    fills = {"red": "F8D7DA", "yellow": "FFF3CD", "green": "D4EDDA"}
    book = Workbook()
    sheet = book.active
    sheet.title = f"平安报表 {report['month']}"
    sheet.append([h for _, h in HEADERS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for item in report["items"]:
        sheet.append([_cell(item, k) for k, _ in HEADERS])
        fill = PatternFill("solid", fgColor=fills[item["colour"]])
        for cell in sheet[sheet.max_row]:
            cell.fill = fill
    for column, width in zip("ABCDEFGHIJKL", (6, 18, 18, 8, 8, 9, 11, 8, 18, 11, 6, 6)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
