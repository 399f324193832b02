"""Hazard density for a bbox and zoom, aggregated in the database (cell sizes and periods:
gridmap.hazard_stats.cells).

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

from datetime import datetime
from typing import Any

from sqlalchemy import Float, func, literal, select, text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.clock import as_local
from gridmap.errors import Unprocessable
from gridmap.hazard_stats.cells import (
    DAY_LEVEL_MAX,
    FINE_PERIOD_KINDS,
    PERIOD_KINDS,
    ROLLUP_LEVELS,
    STREET_DIGITS,
    Bbox,
    CellRange,
    cell_level,
    cell_range,
    plan_periods,
    whole_day,
    zoom_size,
)
from gridmap.hazards.daily_cells import FINE_CELL
from gridmap.hazards.models import HazardCategory, HazardDailyCell

DAILY_MIN_RATIO = 4


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


def category_code(session: Session, category: str | None) -> str:
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


def half_open(params: dict[str, Any], column: str, key: str, lo: Any, hi: Any) -> list[str]:
    """Conditions ``lo <= column < hi`` (either end None: open), their values put in ``params``."""
    bounds = []
    if lo is not None:
        bounds.append(f"{column} >= :{key}_lo")
        params[f"{key}_lo"] = lo
    if hi is not None:
        bounds.append(f"{column} < :{key}_hi")
        params[f"{key}_hi"] = hi
    return bounds


_IN_CELLS = "ix BETWEEN :ix0 AND :ix1 AND iy BETWEEN :iy0 AND :iy1"


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
        bounds = half_open(params, "created_at", f"s{i}", lo, hi)
        ors.append("(" + (" AND ".join(bounds) or "TRUE") + ")")
    where.append("(" + " OR ".join(ors) + ")")
    # round(x / size) is rint, as ST_SnapToGrid's (the trigger's): the same cell, without a new geometry per point.
    return ("SELECT iy, ix, 1 AS n FROM (SELECT round(ST_X(geom) / :size)::int AS ix, "
            "round(ST_Y(geom) / :size)::int AS iy FROM hazard WHERE "
            + " AND ".join(where) + ") h" + (" WHERE " + _IN_CELLS if cells is not None else ""))


def _cells(session: Session, scope: Scope, *, level: int, size: float, cells: CellRange | None,
           since: datetime | None, until: datetime | None, category: str | None, within: str | None,
           rollup: bool) -> list[list[float]] | None:
    """The view's cells [lat, lon, n], exact. ``rollup``: the whole periods from hazard_heat_rollup
    and what they leave (``plan_periods``) from the hazards (None when the range holds no whole
    period of the level); else everything counted from the hazards."""
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
            bounds = [f"period_kind = :p{i}", *half_open(params, "period", f"p{i}", lo, hi)]
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
    category = category_code(session, category)
    level = cell_level(zoom, bbox)
    size = zoom_size(level)
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
