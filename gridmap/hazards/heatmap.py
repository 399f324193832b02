"""Hazard density for a bbox and zoom, aggregated in the database.

Points are snapped to a square grid (``ST_SnapToGrid``) whose cell is about 16 screen
pixels at the requested zoom, and never smaller than 1/160 of the bbox's longer side —
so a response holds at most ~26,000 cells (under 1 MB) at any zoom. A view is snapped outward
to whole cells (``cell_range``): every cell it touches is returned with its whole count.

Zoom pyramid (``hazard_heat_rollup``, kept by triggers, the default path for a street or wider
at levels 6–15): exact counts per level, Beijing year, month and day, street, category and cell.
Any range is covered by whole periods (``plan_periods``); only bounds that are not at a Beijing
midnight leave fragments of under a day, counted from the hazard table. Days are kept up to
level DAY_LEVEL_MAX only: at the finer levels nearly every hazard is alone in its cell, so day rows
would copy the hazard table; there the days beside whole months (under a month at each end) are
counted from the hazards too.

Daily pre-aggregation: ``hazard_daily_cell`` counts hazards per Beijing day, grid, category
and fine cell (FINE_CELL degrees, ~50 m). A query whose date range is whole days (no bound,
or bounds at 00:00 Beijing time) and whose cell is at least DAILY_MIN_RATIO fine cells wide is
answered from it: fine cells are re-binned by their centre, so totals are exact and a point can
only move to the neighbouring view cell when it lies within FINE_CELL/2 of a cell border.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, func, literal, select
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.clock import CHINA, CHINA_SQL, as_local
from gridmap.errors import Unprocessable
from gridmap.hazards.models import HazardCategory, HazardDailyCell

FINE_CELL = 0.0005
DAILY_MIN_RATIO = 4

CELL_PIXELS = 16
MAX_CELLS_PER_SIDE = 160
Bbox = tuple[float, float, float, float]


def _zoom_size(zoom: int) -> float:
    # A round number of 1e-7 degrees, so repeated requests group identically.
    return round(360.0 / (256 * 2 ** zoom) * CELL_PIXELS, 7) or 1e-7


def cell_level(zoom: int, bbox: Bbox | None = None) -> int:
    """The zoom whose cell size is used: ``zoom`` itself, or a coarser one when the bbox would
    otherwise hold more than MAX_CELLS_PER_SIDE cells on a side. Cell sizes are therefore always
    one of the per-zoom sizes, so the zoom pyramid (hazard_heat_rollup) can answer."""
    level = zoom
    if bbox is not None:
        side = max(bbox[2] - bbox[0], bbox[3] - bbox[1])
        while level > 0 and _zoom_size(level) * MAX_CELLS_PER_SIDE < side:
            level -= 1
    return level


def cell_size(zoom: int, bbox: Bbox | None = None) -> float:
    """Cell side in degrees: ~16 px at ``zoom`` (256-px Web Mercator tiles), coarsened to the
    next zoom's size while the bbox is more than MAX_CELLS_PER_SIDE cells wide."""
    return _zoom_size(cell_level(zoom, bbox))


def whole_day(moment: datetime | None) -> bool:
    if moment is None:
        return True
    local = as_local(moment)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def _daily_cells(session: Session, scope: Scope, *, size: float, cells: CellRange | None, since: datetime | None,
                 until: datetime | None, category: str | None, within: str | None) -> list[list[float]]:
    d = HazardDailyCell
    conditions = [scope.where(d.grid_code, within)]
    if since is not None:
        conditions.append(d.day >= as_local(since).date())
    if until is not None:
        conditions.append(d.day < as_local(until).date())
    if category:  # a code (heatmap_cells resolved it)
        conditions.append(d.category_code == category)
    ratio = FINE_CELL / size
    kx = func.round(d.ix * literal(ratio, Float)).label("kx")
    ky = func.round(d.iy * literal(ratio, Float)).label("ky")
    if cells is not None:
        conditions += [kx.between(cells[0], cells[1]), ky.between(cells[2], cells[3])]
    rows = session.execute(select(ky, kx, func.sum(d.n)).where(*conditions).group_by(ky, kx)).all()
    return [[round(float(y) * size, 7), round(float(x) * size, 7), int(n)] for y, x, n in rows]


ROLLUP_LEVELS = range(6, 16)  # the rows of hazard_heat_level (migrations 0012, 0016)
STREET_DIGITS = 9  # the rollup keeps the street part of the grid code, for scopes down to a street
PERIOD_KINDS = ("y", "m", "d")  # the pyramid's periods (migration 0016), largest first
DAY_LEVEL_MAX = 13  # the finest level with days (migration 0016)
FINE_PERIOD_KINDS = tuple(k for k in PERIOD_KINDS if k != "d")  # the periods of the levels finer than DAY_LEVEL_MAX
CellRange = tuple[int, int, int, int]


def cell_range(bbox: Bbox, size: float) -> CellRange:
    """Indexes (ix0, ix1, iy0, iy1) of the cells of side ``size`` that hold the bbox's corners: a view is
    snapped outward to whole cells, and every cell in it is counted whole (cell ``ix`` is the
    ST_SnapToGrid index, round(lon / size)) — so no view ever needs part of a cell."""
    x0, y0, x1, y1 = bbox
    return (math.floor(x0 / size + 0.5), math.floor(x1 / size + 0.5),
            math.floor(y0 / size + 0.5), math.floor(y1 / size + 0.5))


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), CHINA)


def _first_day(moment: datetime) -> date:
    """The first Beijing day starting at or after ``moment``."""
    local = as_local(moment)
    return local.date() if whole_day(moment) else local.date() + timedelta(days=1)


def _period_start(kind: str, d: date) -> date:
    """The first day of the period of ``kind`` that holds ``d``."""
    if kind == "y":
        return d.replace(month=1, day=1)
    if kind == "m":
        return d.replace(day=1)
    return d


def _period_end(kind: str, start: date) -> date:
    """The first day after the period of ``kind`` that starts on ``start``."""
    if kind == "y":
        return date(start.year + 1, 1, 1)
    if kind == "m":
        return _next_month(start)
    return start + timedelta(days=1)


Period = tuple[str, date | None, date | None]


Span = tuple[datetime, datetime]


def plan_periods(since: datetime | None, until: datetime | None,
                 kinds: tuple[str, ...] = PERIOD_KINDS) -> tuple[list[Period], list[Span]]:
    """Cover [since, until) with the periods ``kinds``, largest first: (kind, first, end) runs of
    whole Beijing years, then months and days in what is left on either side (None: an open end).
    What remains is for the hazard table, as spans [lo, hi) of created_at (merged where they
    touch): the fragments of under a day at the ends (bounds not at a Beijing midnight) and,
    when ``kinds`` has no days, the whole days beside the months."""
    if since is not None and until is not None and since >= until:
        return [], []
    lo = None if since is None else _first_day(since)
    hi = None if until is None else as_local(until).date()
    if lo is not None and hi is not None and lo >= hi:  # within one day
        return [], [(since, until)]
    fragments = []
    if lo is not None and _midnight(lo) > since:
        fragments.append((since, _midnight(lo)))
    if hi is not None and until > _midnight(hi):
        fragments.append((_midnight(hi), until))
    periods: list[Period] = []
    gaps: list[tuple[date | None, date | None]] = [(lo, hi)]
    for kind in kinds:
        left = []
        for a, b in gaps:
            first = a if a is None or _period_start(kind, a) == a else _period_end(kind, _period_start(kind, a))
            end = None if b is None else _period_start(kind, b)
            if first is None or end is None or first < end:
                periods.append((kind, first, end))
                left += [g for g in ((a, first), (end, b)) if None not in g and g[0] < g[1]]
            else:
                left.append((a, b))
        gaps = left
    spans: list[Span] = []
    for a, b in sorted(fragments + [(_midnight(a), _midnight(b)) for a, b in gaps]):
        if spans and spans[-1][1] == a:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return periods, spans


def _category_code(session: Session, category: str | None) -> str:
    """'' for all categories, else the code of ``category`` (a code or a name; retired categories
    too, their hazards stay on the map); a 422 when the catalogue has no such category."""
    if not category:
        return ""
    code = session.scalar(select(HazardCategory.code).where(
        (HazardCategory.code == category) | (HazardCategory.name == category)))
    if code is None:
        raise Unprocessable("hazard_category_unknown", details={"field": "category"}, category=category)
    return code


def rollup_eligible(scope: Scope, level: int, within: str | None) -> bool:
    prefix = scope.narrow(within)
    return level in ROLLUP_LEVELS and (prefix is None or len(prefix) <= STREET_DIGITS)


def _hazard_cells_sql(params: dict[str, Any], spans: list[tuple[datetime | None, datetime | None]],
                      cells: CellRange | None) -> str:
    """Cells counted from the hazard table: the hazards of ``params``' prefix and category in any
    of ``spans`` ([lo, hi) of created_at, None: open), in the cells ``cells`` (None: all)."""
    where = ["grid_code LIKE :prefix"]
    if params["code"]:
        where.append("category_code = :code")
    if cells is not None:  # the GiST index finds the whole cells; the cell index keeps exactly them
        where.append("geom && ST_MakeEnvelope(:ex0, :ey0, :ex1, :ey1, 4326)")
    ors = []
    for i, (lo, hi) in enumerate(spans):
        bounds = _half_open(params, "created_at", f"s{i}", lo, hi)
        ors.append("(" + (" AND ".join(bounds) or "TRUE") + ")")
    where.append("(" + " OR ".join(ors) + ")")
    # round(x / size) is rint, as ST_SnapToGrid's (the trigger's): the same cell, without a new geometry per point.
    return ("SELECT iy, ix, 1 AS n FROM (SELECT round(ST_X(geom) / :size)::int AS ix, "
            "round(ST_Y(geom) / :size)::int AS iy FROM hazard WHERE "
            + " AND ".join(where) + ") h" + (" WHERE " + _IN_CELLS if cells is not None else ""))


_IN_CELLS = "ix BETWEEN :ix0 AND :ix1 AND iy BETWEEN :iy0 AND :iy1"


def _half_open(params: dict[str, Any], column: str, key: str, lo: Any, hi: Any) -> list[str]:
    """Conditions ``lo <= column < hi`` (either end None: open), their values put in ``params``."""
    bounds = []
    if lo is not None:
        bounds.append(f"{column} >= :{key}_lo")
        params[f"{key}_lo"] = lo
    if hi is not None:
        bounds.append(f"{column} < :{key}_hi")
        params[f"{key}_hi"] = hi
    return bounds


def _cells(session: Session, scope: Scope, *, level: int, size: float, cells: CellRange | None,
           since: datetime | None, until: datetime | None, category: str | None, within: str | None,
           rollup: bool) -> list[list[float]] | None:
    """The view's cells [lat, lon, n], exact. ``rollup``: the whole periods from hazard_heat_rollup
    and what they leave (``plan_periods``) from the hazards (None when the range holds no whole
    period of the level); else everything counted from the hazards."""
    from sqlalchemy import text

    pattern = scope.like_pattern(within)
    if pattern is None:
        return []
    params: dict[str, Any] = {"level": level, "size": size, "prefix": pattern, "code": category}
    if cells is not None:
        ix0, ix1, iy0, iy1 = cells
        margin = size * 1e-6
        params.update(ix0=ix0, ix1=ix1, iy0=iy0, iy1=iy1, ex0=(ix0 - 0.5) * size - margin,
                      ex1=(ix1 + 0.5) * size + margin, ey0=(iy0 - 0.5) * size - margin,
                      ey1=(iy1 + 0.5) * size + margin)
    if not rollup:
        parts = [_hazard_cells_sql(params, [(since, until)], cells)]
    else:
        periods, spans = plan_periods(since, until, PERIOD_KINDS if level <= DAY_LEVEL_MAX else FINE_PERIOD_KINDS)
        if not periods:
            return None
        parts = []
        for i, (kind, lo, hi) in enumerate(periods):  # one index-only scan each (see the model)
            bounds = [f"period_kind = :p{i}", *_half_open(params, "period", f"p{i}", lo, hi)]
            params[f"p{i}"] = kind
            parts.append(f"""SELECT iy, ix, n FROM hazard_heat_rollup
                              WHERE level = :level AND category_code = :code AND street LIKE :prefix
                                AND {' AND '.join(bounds)}{' AND ' + _IN_CELLS if cells is not None else ''}""")
        if spans:
            parts.append(_hazard_cells_sql(params, list(spans), cells))
    rows = session.execute(text("SELECT iy, ix, sum(n) FROM (" + " UNION ALL ".join(parts)
                                + ") u GROUP BY iy, ix HAVING sum(n) > 0"), params).all()
    return [[round(iy * size, 7), round(ix * size, 7), int(n)] for iy, ix, n in rows]


def heatmap_cells(session: Session, scope: Scope, *, bbox: Bbox | None, zoom: int, since: datetime | None = None,
                  until: datetime | None = None, category: str | None = None,
                  within: str | None = None, daily: bool | None = None, rollup: bool = True) -> dict[str, Any]:
    """Hazards per cell of the level ``cell_level(zoom, bbox)``, for every cell the bbox touches
    (``cell_range``: the view is snapped outward to whole cells, counted whole).

    The path: the zoom pyramid when the level is in it and the scope is a street or wider; else
    the daily cells for whole-day ranges at coarse zooms; else counting the hazards. ``rollup=False``
    rules out the pyramid and ``daily`` True/False forces the daily cells or counting (tests and
    the benchmark compare the paths)."""
    category = _category_code(session, category)
    level = cell_level(zoom, bbox)
    size = _zoom_size(level)
    cells = None if bbox is None else cell_range(bbox, size)
    result: dict[str, Any] | None = None
    if rollup and daily is None and rollup_eligible(scope, level, within):
        found = _cells(session, scope, level=level, size=size, cells=cells, since=since, until=until,
                       category=category, within=within, rollup=True)
        if found is not None:
            result = {"cells": found, "source": "rollup"}
        else:  # no whole day in the range (at a level without days, no whole month): count, exactly
            daily = False
    if result is None and daily is None:
        daily = whole_day(since) and whole_day(until) and size >= DAILY_MIN_RATIO * FINE_CELL
    if result is None and daily:
        result = {"cells": _daily_cells(session, scope, size=size, cells=cells, since=since, until=until,
                                        category=category, within=within), "source": "daily"}
    if result is None:
        result = {"cells": _cells(session, scope, level=level, size=size, cells=cells, since=since, until=until,
                                  category=category, within=within, rollup=False), "source": "hazards"}
    return {"cells": result["cells"], "cell_size": size, "total": sum(c[2] for c in result["cells"]),
            "source": result["source"]}


_CELL_KEY = """(created_at AT TIME ZONE '{zone}')::date, grid_code, category_code,
               round(ST_X(geom) / {fine})::int, round(ST_Y(geom) / {fine})::int""".format(zone=CHINA_SQL, fine=FINE_CELL)

RECORD_SQL = f"""
INSERT INTO hazard_daily_cell AS d (day, grid_code, category_code, ix, iy, n)
SELECT {_CELL_KEY}, 1 FROM hazard WHERE id = :id
ON CONFLICT (day, grid_code, category_code, ix, iy) DO UPDATE SET n = d.n + 1
"""

REFRESH_SQL = f"""
INSERT INTO hazard_daily_cell (day, grid_code, category_code, ix, iy, n)
SELECT {_CELL_KEY}, count(*) FROM hazard
 WHERE (CAST(:lo AS timestamptz) IS NULL OR created_at >= :lo) AND (CAST(:hi AS timestamptz) IS NULL OR created_at < :hi)
 GROUP BY 1, 2, 3, 4, 5
"""


def record_hazard(session: Session, hazard_id: int) -> None:
    """On write: count one new hazard into its day's cell (inside the reporting transaction)."""
    from sqlalchemy import text

    session.execute(text(RECORD_SQL), {"id": hazard_id})


def refresh_daily(session: Session, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Rebuild the Beijing days [since, until) (everything when open) from the hazard table, in one
    transaction: for bulk loads that bypass ``report`` (COPY, the benchmark) or a repair."""
    from sqlalchemy import delete, text

    from gridmap.db import transaction

    lo = datetime.combine(since, time(0), CHINA) if since else None
    hi = datetime.combine(until, time(0), CHINA) if until else None
    with transaction(session):
        conditions = []
        if since:
            conditions.append(HazardDailyCell.day >= since)
        if until:
            conditions.append(HazardDailyCell.day < until)
        deleted = session.execute(delete(HazardDailyCell).where(*conditions)).rowcount
        inserted = session.execute(text(REFRESH_SQL), {"lo": lo, "hi": hi}).rowcount
    return {"deleted": deleted, "cells": inserted}


ROLLUP_DAYS_SQL = """
CREATE TEMPORARY TABLE heat_rollup_days AS
SELECT level, day, street, coalesce(cat, '') AS category_code, ix, iy, count(*)::int AS n
  FROM (SELECT l.level, (h.created_at AT TIME ZONE '{zone}')::date AS day,
               left(h.grid_code, {street}) AS street, h.category_code AS cat,
               round(ST_X(ST_SnapToGrid(h.geom, l.size)) / l.size)::int AS ix,
               round(ST_Y(ST_SnapToGrid(h.geom, l.size)) / l.size)::int AS iy
          FROM hazard h CROSS JOIN hazard_heat_level l
         WHERE (CAST(:lo AS timestamptz) IS NULL OR h.created_at >= :lo)
           AND (CAST(:hi AS timestamptz) IS NULL OR h.created_at < :hi)) x
 GROUP BY GROUPING SETS ((level, day, street, cat, ix, iy), (level, day, street, ix, iy))
"""

ROLLUP_REFRESH_SQL = """
INSERT INTO hazard_heat_rollup (level, period_kind, period, street, category_code, ix, iy, n)
SELECT level, CAST(:kind AS varchar), date_trunc(:unit, day)::date, street, category_code, ix, iy, sum(n)
  FROM heat_rollup_days
 WHERE level <= :top AND (CAST(:lo AS date) IS NULL OR day >= :lo) AND (CAST(:hi AS date) IS NULL OR day < :hi)
 GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
UNITS = {"y": "year", "m": "month", "d": "day"}


def refresh_rollup(session: Session, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Rebuild the zoom pyramid's years, months and days that touch the Beijing days
    [since, until) (everything when open) from the hazard table, in one transaction: the hazards
    are counted once per day, and the longer periods summed from those days. The triggers keep
    it current; this is the repair, and the fast path after a bulk load with the triggers off."""
    from sqlalchemy import text

    from gridmap.db import transaction

    spans = {kind: (None if since is None else _period_start(kind, since),
                    None if until is None else _period_end(kind, _period_start(kind, until - timedelta(days=1))))
             for kind in PERIOD_KINDS}
    lo = None if since is None else min(span[0] for span in spans.values())
    hi = None if until is None else max(span[1] for span in spans.values())
    rows = 0
    with transaction(session):
        # Reports wait until the rebuild commits: one committed meanwhile would have its trigger's
        # +1 deleted below and not be in the days counted above.
        session.execute(text("LOCK TABLE hazard IN SHARE MODE"))
        session.execute(text(ROLLUP_DAYS_SQL.format(zone=CHINA_SQL, street=STREET_DIGITS)), {"lo": _midnight(lo) if lo else None,
                                                "hi": _midnight(hi) if hi else None})
        for kind, (k_lo, k_hi) in spans.items():
            params = {"kind": kind, "unit": UNITS[kind], "lo": k_lo, "hi": k_hi,
                      "top": DAY_LEVEL_MAX if kind == "d" else max(ROLLUP_LEVELS)}
            session.execute(text("DELETE FROM hazard_heat_rollup WHERE period_kind = :kind"
                                 " AND (CAST(:lo AS date) IS NULL OR period >= :lo)"
                                 " AND (CAST(:hi AS date) IS NULL OR period < :hi)"), params)
            rows += session.execute(text(ROLLUP_REFRESH_SQL), params).rowcount
        session.execute(text("DROP TABLE heat_rollup_days"))  # the session may go on (a savepoint)
    return {"rows": rows}


GRID_DENSITY_SQL = """
WITH g AS (
    SELECT id, code, name, geom FROM grid WHERE code LIKE :prefix AND kind = 'map' AND geom IS NOT NULL
), hh AS (
    SELECT h.grid_id, count(*) AS households FROM household h WHERE h.grid_id IN (SELECT id FROM g) GROUP BY 1
), hz AS (
    SELECT z.grid_code, count(*) AS hazards FROM hazard z
     WHERE z.grid_code LIKE :prefix {conditions} GROUP BY 1
)
SELECT g.code, g.name, coalesce(hh.households, 0) AS households, coalesce(hz.hazards, 0) AS hazards,
       CASE WHEN coalesce(hh.households, 0) > 0
            THEN round(1000.0 * coalesce(hz.hazards, 0) / hh.households, 2) END AS per_1000,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(g.geom, :tolerance), 6) AS geometry
  FROM g LEFT JOIN hh ON hh.grid_id = g.id LEFT JOIN hz ON hz.grid_code = g.code
 ORDER BY g.code
"""


def grid_density(session: Session, scope: Scope, *, within: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, category: str | None = None, zoom: int = 13) -> dict[str, Any]:
    """Per grid: households, hazards reported (filters as the heatmap) and hazards per 1,000
    households, computed in the database; geometry simplified to about a pixel at ``zoom``."""
    import json

    from sqlalchemy import text

    pattern = scope.like_pattern(within)
    if pattern is None:
        return {"type": "FeatureCollection", "features": [], "total": 0}
    params = {"prefix": pattern, "tolerance": 360.0 / (256 * 2 ** zoom)}
    conditions = ["AND " + bound for bound in _half_open(params, "z.created_at", "t", since, until)]
    code = _category_code(session, category)
    if code:
        conditions.append("AND z.category_code = :cat")
        params["cat"] = code
    rows = session.execute(text(GRID_DENSITY_SQL.format(conditions=" ".join(conditions))), params).all()
    features = [{"type": "Feature", "geometry": json.loads(r.geometry),
                 "properties": {"code": r.code, "name": r.name, "households": r.households, "hazards": r.hazards,
                                "per_1000": float(r.per_1000) if r.per_1000 is not None else None}} for r in rows]
    return {"type": "FeatureCollection", "features": features, "total": len(features)}
