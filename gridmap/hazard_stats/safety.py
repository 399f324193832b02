"""平安报表: per grid, community and street for a period (week, month, quarter, year) — found, closed, closure rate,
on-time rate, overdue, mean handling time — with red/yellow/green by configurable
thresholds and a ranking per level. One SQL statement (GROUPING SETS) does the counting.

Definitions (period = a Beijing week Monday–Sunday, calendar month, quarter or year; below "month"):
- found: hazards reported in the month (refused reports, ``rejected``, are not hazards);
- closed: of those, closed before the month ended; closure_rate = closed / found;
- on_the_spot: of the closed ones, those a grid worker solved on the spot (就地解决; a reopened
  one no longer counts);
- on_time_rate: of those found and resolved (verified) before the month ended, the share
  resolved by their resolve_by deadline;
- overdue: hazards open at the month's end (or now, for the current month) past resolve_by;
- mean_handling_hours: report → close, over the closed ones.
- patrol_coverage: 五必访 households visited in the month / those requiring a visit, from the
  patrol module's ``visit_coverage`` (``null`` where no household requires a visit; for a
  supervisor counted over the visit tags that are not sensitive, as that module shows them);
  over a quarter or year household-months (each month's visits against that month's duty), for
  a week the month it ends in so far (shown, not coloured: the duty is monthly).
- party_visit_coverage: contact households (党员联系户) visited by a party member at least once in
  the month / contact households, from the party module's ``contact_coverage`` (``null`` where
  there are none); shown, not coloured.
- satisfaction_answered / satisfaction_rate / satisfaction_colour: the month's 回访 answers and
  (满意 + 基本满意) / answered against the target (hazard_stats/satisfaction.py); its own colour,
  not part of the row's.

The report carries codes (level, colour); pages and exports name them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.clock import Period, month_bounds, parse_month, parse_period, period_of, today
from gridmap.clock import now as clock_now
from gridmap.config import PatrolRules
from gridmap.errors import Unprocessable
from gridmap.hazard_stats.satisfaction import columns as satisfaction_columns
from gridmap.hazard_stats.satisfaction import satisfaction

DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    # A rate at or above "green" is green, at or above "yellow" is yellow, else red.
    "closure_rate": {"green": 0.95, "yellow": 0.85},
    "on_time_rate": {"green": 0.90, "yellow": 0.75},
    # A count at or below "green" is green, at or below "yellow" is yellow, else red.
    "overdue": {"green": 0, "yellow": 2},
    "patrol_coverage": {"green": 0.90, "yellow": 0.70},
}
COLOUR_ORDER = {"red": 0, "yellow": 1, "green": 2}
LEVEL_ORDER = {"street": 0, "community": 1, "grid": 2}


def thresholds(configured: Mapping[str, Any] | None = None) -> dict[str, dict[str, float]]:
    """The defaults, with the configured bands (Settings.safety_thresholds) over them."""
    result = {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
    for key, bands in (configured or {}).items():
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


_SQL = text("""
WITH g AS (
    SELECT code FROM grid WHERE code LIKE :prefix
), h AS (
    SELECT g.code AS grid_code, h.created_at, h.closed_at, h.resolved_at, h.resolve_by, h.status, h.resolution
    FROM g LEFT JOIN hazard h
      ON h.grid_code = g.code AND h.status <> 'rejected' AND h.created_at < :end
     AND (h.created_at >= :start OR h.closed_at IS NULL OR h.closed_at >= :start)
)
SELECT CASE WHEN grouping(left(grid_code, 9)) = 0 THEN 'street'
            WHEN grouping(left(grid_code, 12)) = 0 THEN 'community' ELSE 'grid' END AS level,
       coalesce(left(grid_code, 9), left(grid_code, 12), grid_code) AS code,
       count(created_at) FILTER (WHERE created_at >= :start) AS found,
       count(*) FILTER (WHERE created_at >= :start AND status = 'closed' AND closed_at < :end) AS closed,
       count(*) FILTER (WHERE created_at >= :start AND status = 'closed' AND closed_at < :end
                          AND resolution = 'on_the_spot') AS on_the_spot,
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


def coverage_months(period: Period, asof: datetime) -> list[tuple[date, datetime | None]]:
    """The months whose visits a period's coverage counts, each with the moment it is counted up to
    (None: the whole month). A month, quarter or year counts its months begun by ``asof``
    (household-months); a week, the month it ends in, up to the week's end (the month so far)."""
    if period.kind == "week":
        return [(period.months()[-1], min(period.bounds()[1], asof))]
    return [(month, None) for month in period.months() if month_bounds(month)[0] < asof]


def _shares(rows: list[dict[str, Any]], done: str, due: str) -> dict[str, float]:
    """``done / due`` summed over per-grid rows, per grid, community and street code."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        for code in {row["code"], row["code"][:12], row["code"][:9]}:
            pair = totals.setdefault(code, [0, 0])
            pair[0] += row[done]
            pair[1] += row[due]
    return {code: round(a / b, 4) for code, (a, b) in totals.items() if b}


def patrol_coverage(session: Session, scope: Scope, prefix: str, months: list[tuple[date, datetime | None]],
                    patrol_rules: PatrolRules) -> dict[str, float]:
    """Share of 五必访 households visited over ``months`` (coverage_months), per grid, community and
    street code, summed from the patrol module's per-grid figures (one query a month there)."""
    from gridmap.patrol.tracks import visit_coverage

    return _shares([grid for month, until in months for grid in visit_coverage(
        session, scope, within=prefix or None, month=month, rules=patrol_rules, until=until)["grids"]],
        "visited", "required")


def party_visit_coverage(session: Session, scope: Scope, prefix: str,
                         months: list[tuple[date, datetime | None]]) -> dict[str, float]:
    """Share of party contact households visited over ``months`` (each month counted on its own), per
    grid, community and street code, summed from the party module's per-grid figures."""
    from gridmap.party.visits import contact_coverage

    return _shares([grid for month, until in months for grid in contact_coverage(
        session, scope, within=prefix or None, month=month, until=until)], "visited", "contacts")


def report_period(month: str | None, period: str | None, now: datetime) -> Period:
    """The period asked for: ``period`` (a label), else ``month``, else this month."""
    if period and month:
        raise Unprocessable("period_and_month", details={"period": period, "month": month})
    if period:
        return parse_period(period)
    return period_of("month", parse_month(month) if month else today(now))


def area_options(session: Session, scope: Scope) -> list[dict[str, str]]:
    """The streets and communities a user may filter the report by."""
    rows = session.execute(text(
        "SELECT code, name, level FROM admin_unit WHERE code LIKE :prefix AND level IN ('street', 'community') "
        "ORDER BY code"), {"prefix": scope.like_pattern()}).all()
    return [{"code": c, "name": n, "level": lv} for c, n, lv in rows]


def _rank_key(item: dict[str, Any]) -> tuple:
    """Best first: colour, closure rate, on-time rate, fewest overdue (nothing to measure counts as 100%)."""
    closure = 1.0 if item["closure_rate"] is None else item["closure_rate"]
    on_time = 1.0 if item["on_time_rate"] is None else item["on_time_rate"]
    return (LEVEL_ORDER[item["level"]], -COLOUR_ORDER[item["colour"]], -closure, -on_time, item["overdue"],
            item["code"])


def safety_report(session: Session, scope: Scope, *, within: str | None, month: str | None,
                  patrol_rules: PatrolRules, now: datetime | None = None, configured: Mapping[str, Any] | None = None,
                  period: str | None = None, satisfaction_target: float = 0.95) -> dict[str, Any]:
    """The report of a period (``period``: a week, month, quarter or year label; or ``month``;
    this month by default) for the area ``within`` of the caller's scope; ``configured``: the
    threshold bands of the settings; ``satisfaction_target``: the 回访 target. A week's colour
    leaves out patrol coverage (a monthly duty)."""
    now = now or clock_now()
    span = report_period(month, period, now)
    start, end = span.bounds()
    limits = thresholds(configured)
    prefix = scope.narrow(within)
    result: dict[str, Any] = {"period": span.label, "kind": span.kind,
                              "month": span.label if span.kind == "month" else None,
                              "first_day": span.first.isoformat(), "last_day": span.last.isoformat(),
                              "within": prefix or "", "thresholds": limits, "items": [],
                              "satisfaction_target": satisfaction_target}
    if prefix is None:
        return result
    asof = min(now, end)
    rows = session.execute(_SQL, {"prefix": scope.like_pattern(within), "start": start, "end": end,
                                  "asof": asof}).mappings().all()
    months = coverage_months(span, asof)
    coverage = patrol_coverage(session, scope, prefix, months, patrol_rules)
    visits = party_visit_coverage(session, scope, prefix, months)
    answers = satisfaction(session, scope.like_pattern(within), start, end)
    codes = [r["code"] for r in rows]
    names = dict(session.execute(_NAMES, {"codes": codes}).all()) if codes else {}
    items = []
    for r in rows:
        if r["level"] != "grid" and len(r["code"]) < len(prefix):
            continue  # a street or community only partly inside the requested area
        item = {
            "level": r["level"], "code": r["code"],
            "name": names.get(r["code"], r["code"]), "found": r["found"], "closed": r["closed"],
            "on_the_spot": r["on_the_spot"],
            "closure_rate": round(r["closed"] / r["found"], 4) if r["found"] else None,
            "on_time_rate": round(r["on_time"] / r["resolved"], 4) if r["resolved"] else None,
            "overdue": r["overdue"],
            "mean_handling_hours": round(float(r["mean_hours"]), 1) if r["mean_hours"] is not None else None,
            "patrol_coverage": coverage.get(r["code"]),
            "party_visit_coverage": visits.get(r["code"]),
        }
        item.update(satisfaction_columns(answers.get(r["code"]), satisfaction_target))
        item["colour"] = colour({**item, "patrol_coverage": None} if span.kind == "week" else item, limits)
        items.append(item)
    items.sort(key=_rank_key)
    for level in LEVEL_ORDER:
        for rank, item in enumerate((i for i in items if i["level"] == level), start=1):
            item["rank"] = rank
    result["items"] = items
    return result
