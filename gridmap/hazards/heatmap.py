"""Hazard density for a bbox and zoom, aggregated in the database.

Points are snapped to a square grid (``ST_SnapToGrid``) whose cell is about 16 screen
pixels at the requested zoom, and never smaller than 1/160 of the bbox's longer side —
so a response holds at most ~25,600 cells (well under 1 MB) at any zoom.

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

from sqlalchemy import Float, func, literal, literal_column, select
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.hazards.calendar import CN_TZ, as_local
from gridmap.hazards.models import Hazard, HazardCategory, HazardDailyCell

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


def filters(scope: Scope, *, within: str | None = None, bbox: Bbox | None = None, since: datetime | None = None,
            until: datetime | None = None, category: str | None = None) -> list[Any]:
    conditions = [scope.where(Hazard.grid_code, within)]
    if bbox is not None:
        conditions.append(Hazard.geom.op("&&")(func.ST_MakeEnvelope(*bbox, 4326)))
    if since is not None:
        conditions.append(Hazard.created_at >= since)
    if until is not None:
        conditions.append(Hazard.created_at < until)
    if category:
        conditions.append(Hazard.category_code.in_(
            select(HazardCategory.code).where((HazardCategory.code == category) | (HazardCategory.name == category))))
    return conditions


def whole_day(moment: datetime | None) -> bool:
    if moment is None:
        return True
    local = as_local(moment)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def _daily_cells(session: Session, scope: Scope, *, size: float, bbox: Bbox | None, since: datetime | None,
                 until: datetime | None, category: str | None, within: str | None) -> list[list[float]]:
    d = HazardDailyCell
    conditions = [scope.where(d.grid_code, within)]
    if since is not None:
        conditions.append(d.day >= as_local(since).date())
    if until is not None:
        conditions.append(d.day < as_local(until).date())
    if category:
        conditions.append(d.category_code.in_(
            select(HazardCategory.code).where((HazardCategory.code == category) | (HazardCategory.name == category))))
    if bbox is not None:
        conditions += [d.ix.between(math.ceil(bbox[0] / FINE_CELL), math.floor(bbox[2] / FINE_CELL)),
                       d.iy.between(math.ceil(bbox[1] / FINE_CELL), math.floor(bbox[3] / FINE_CELL))]
    ratio = FINE_CELL / size
    kx = func.round(d.ix * literal(ratio, Float)).label("kx")
    ky = func.round(d.iy * literal(ratio, Float)).label("ky")
    rows = session.execute(select(ky, kx, func.sum(d.n)).where(*conditions).group_by(ky, kx)).all()
    return [[round(float(y) * size, 7), round(float(x) * size, 7), int(n)] for y, x, n in rows]


ROLLUP_LEVELS = range(6, 14)  # the rows of hazard_heat_level (migration 0012)
STREET_DIGITS = 9  # the rollup keeps the street part of the grid code, for scopes down to a street
_EDGE = 1e-6  # in cells: a cell counts as inside the bbox only when clearly so


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), CN_TZ)


def _first_day(moment: datetime) -> date:
    """The first Beijing day starting at or after ``moment``."""
    local = as_local(moment)
    return local.date() if whole_day(moment) else local.date() + timedelta(days=1)


def plan_periods(since: datetime | None, until: datetime | None) -> tuple[
        tuple[date | None, date | None] | None, list[tuple[date, date]], list[tuple[datetime, datetime]]]:
    """Split [since, until) into whole Beijing months (first, end) — None for an open end —, runs of
    whole ISO weeks (first Monday, end Monday) in the parts before and after the months, and the
    remaining fragments (under a week each) that only the hazard table can answer."""
    m1 = None if since is None else _first_day(since)
    if m1 is not None and m1.day != 1:
        m1 = _next_month(m1)
    m2 = None if until is None else as_local(until).date().replace(day=1)
    if m1 is None or m2 is None or m1 < m2:
        months = (m1, m2)
        gaps = [g for g in ((since, None if m1 is None else _midnight(m1)),
                            (None if m2 is None else _midnight(m2), until)) if None not in g]
    else:
        months, gaps = None, [(since, until)]
    weeks, fragments = [], []
    for lo, hi in gaps:
        if lo >= hi:
            continue
        first, last = _first_day(lo), as_local(hi).date()
        w1, w2 = first + timedelta(days=(7 - first.weekday()) % 7), last - timedelta(days=last.weekday())
        if w1 < w2:
            weeks.append((w1, w2))
            fragments += [f for f in ((lo, _midnight(w1)), (_midnight(w2), hi)) if f[0] < f[1]]
        else:
            fragments.append((lo, hi))
    return months, weeks, fragments


def _category_code(session: Session, category: str | None) -> str | None:
    if not category:
        return ""
    return session.scalar(select(HazardCategory.code).where(
        (HazardCategory.code == category) | (HazardCategory.name == category)))


def rollup_eligible(scope: Scope, level: int, within: str | None) -> bool:
    prefix = scope.narrow(within)
    return level in ROLLUP_LEVELS and (prefix is None or len(prefix) <= STREET_DIGITS)


def _rollup_cells(session: Session, scope: Scope, *, level: int, size: float, bbox: Bbox | None,
                  since: datetime | None, until: datetime | None, category: str | None,
                  within: str | None) -> list[list[float]] | None:
    """Cells from the zoom pyramid, exact: whole months and weeks of cells wholly inside the bbox
    come from hazard_heat_rollup; the cells on the bbox's border (any time) and the leftover days
    at both ends of the range (inner cells) are counted from the hazards. None: not applicable."""
    from sqlalchemy import text

    prefix = scope.narrow(within)
    code = _category_code(session, category)
    if prefix is None or code is None:
        return []
    months, weeks, fragments = plan_periods(since, until)
    params: dict[str, Any] = {"level": level, "size": size, "prefix": prefix + "%", "code": code}
    periods = []
    if months is not None:
        bounds = ["period_kind = 'm'"]
        if months[0] is not None:
            bounds.append("period >= :m_lo")
            params["m_lo"] = months[0]
        if months[1] is not None:
            bounds.append("period < :m_hi")
            params["m_hi"] = months[1]
        periods.append("(" + " AND ".join(bounds) + ")")
    for i, (lo, hi) in enumerate(weeks):
        periods.append(f"(period_kind = 'w' AND period >= :w{i}_lo AND period < :w{i}_hi)")
        params[f"w{i}_lo"], params[f"w{i}_hi"] = lo, hi
    if not periods:
        return None
    base = ["grid_code LIKE :prefix"]
    if code:
        base.append("category_code = :code")
    inner = "TRUE"
    strips = None
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        ax, bx = math.ceil(x0 / size + 0.5 + _EDGE), math.floor(x1 / size - 0.5 - _EDGE)
        ay, by = math.ceil(y0 / size + 0.5 + _EDGE), math.floor(y1 / size - 0.5 - _EDGE)
        if ax > bx or ay > by:
            return None
        params.update(x0=x0, y0=y0, x1=x1, y1=y1, ax=ax, bx=bx, ay=ay, by=by,
                      sx0=(ax - 0.5 - _EDGE) * size, sx1=(bx + 0.5 + _EDGE) * size,
                      sy0=(ay - 0.5 - _EDGE) * size, sy1=(by + 0.5 + _EDGE) * size)
        base.append("geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)")
        inner = "ix BETWEEN :ax AND :bx AND iy BETWEEN :ay AND :by"
        strips = " OR ".join(f"geom && ST_MakeEnvelope({e}, 4326)" for e in (
            ":x0, :y0, :sx0, :y1", ":sx1, :y0, :x1, :y1", ":x0, :y0, :x1, :sy0", ":x0, :sy1, :x1, :y1"))
    snapped = ("SELECT round(ST_X(ST_SnapToGrid(geom, :size)) / :size)::int AS ix, "
               "round(ST_Y(ST_SnapToGrid(geom, :size)) / :size)::int AS iy FROM hazard WHERE ")
    parts = [f"""SELECT iy, ix, n FROM hazard_heat_rollup
                  WHERE level = :level AND category_code = :code AND street LIKE :prefix
                    AND ({' OR '.join(periods)}) AND {inner}"""]
    if strips is not None:
        span = []
        if since is not None:
            span.append("created_at >= :since")
            params["since"] = since
        if until is not None:
            span.append("created_at < :until")
            params["until"] = until
        parts.append(f"SELECT iy, ix, 1 FROM ({snapped}{' AND '.join(base + span)} AND ({strips})) e "
                     f"WHERE NOT ({inner})")
    if fragments:
        spans = []
        for i, (lo, hi) in enumerate(fragments):
            spans.append(f"(created_at >= :f{i}_lo AND created_at < :f{i}_hi)")
            params[f"f{i}_lo"], params[f"f{i}_hi"] = lo, hi
        parts.append(f"SELECT iy, ix, 1 FROM ({snapped}{' AND '.join(base)} AND ({' OR '.join(spans)})) f "
                     f"WHERE {inner}")
    rows = session.execute(text("SELECT iy, ix, sum(n) FROM (" + " UNION ALL ".join(parts)
                                + ") u GROUP BY iy, ix HAVING sum(n) > 0"), params).all()
    return [[round(iy * size, 7), round(ix * size, 7), int(n)] for iy, ix, n in rows]


def heatmap_cells(session: Session, scope: Scope, *, bbox: Bbox | None, zoom: int, since: datetime | None = None,
                  until: datetime | None = None, category: str | None = None,
                  within: str | None = None, daily: bool | None = None, rollup: bool | None = None,
                  display: str | None = None) -> dict[str, Any]:
    """``rollup``/``daily``: None chooses (the zoom pyramid when the level is in it and the scope is
    a street or wider; else the daily cells for whole-day ranges at coarse zooms; else counting
    the hazards), True/False forces a path (tests and the benchmark compare them).

    ``display``: the CRS of the map the cells are drawn on (``gcj02`` for a Gaode basemap): the
    bbox is read in it and the cell centres are returned in it; counting is always in WGS-84."""
    if display is not None:
        bbox = _bbox_to_wgs84(bbox, display)
    level = cell_level(zoom, bbox)
    size = _zoom_size(level)
    result: dict[str, Any] | None = None
    if rollup is None:
        rollup = daily is None and rollup_eligible(scope, level, within)
    if rollup:
        if not rollup_eligible(scope, level, within):
            raise ValueError(f"zoom level {level} / scope {scope.narrow(within)!r} is not in the rollup")
        cells = _rollup_cells(session, scope, level=level, size=size, bbox=bbox, since=since, until=until,
                              category=category, within=within)
        if cells is not None:
            result = {"cells": cells, "source": "rollup"}
        else:  # no whole period or no whole cell (a view a few cells wide): count, exactly
            daily = False
    if result is None and daily is None:
        daily = whole_day(since) and whole_day(until) and size >= DAILY_MIN_RATIO * FINE_CELL
    if result is None and daily:
        result = {"cells": _daily_cells(session, scope, size=size, bbox=bbox, since=since, until=until,
                                        category=category, within=within), "source": "daily"}
    if result is None:
        snapped = func.ST_SnapToGrid(Hazard.geom, size)
        rows = session.execute(
            select(func.ST_Y(snapped).label("lat"), func.ST_X(snapped).label("lon"), func.count().label("n"))
            .where(*filters(scope, within=within, bbox=bbox, since=since, until=until, category=category))
            .group_by(literal_column("1"), literal_column("2"))
        ).all()
        result = {"cells": [[round(lat, 7), round(lon, 7), n] for lat, lon, n in rows], "source": "hazards"}
    cells = result["cells"]
    total = sum(c[2] for c in cells)
    if display is not None:
        cells = _cells_to_display(cells, display)
    return {"cells": cells, "cell_size": size, "total": total, "source": result["source"]}


def _bbox_to_wgs84(bbox: Bbox | None, crs: str) -> Bbox | None:
    """The WGS-84 envelope of a bbox given in the map's CRS (its four corners converted)."""
    if bbox is None:
        return None
    import numpy as np

    from gridmap.geo.crs import to_wgs84

    lon, lat = to_wgs84(np.array([bbox[0], bbox[2], bbox[0], bbox[2]]),
                        np.array([bbox[1], bbox[1], bbox[3], bbox[3]]), crs)
    return (max(-180.0, float(lon.min())), max(-90.0, float(lat.min())),
            min(180.0, float(lon.max())), min(90.0, float(lat.max())))


def _cells_to_display(cells: list[list[float]], crs: str) -> list[list[float]]:
    """Cell centres [lat, lon, n] shifted to the map's CRS, vectorised."""
    if not cells:
        return cells
    import numpy as np

    from gridmap.geo.crs import from_wgs84

    arr = np.asarray(cells, dtype=float)
    lon, lat = from_wgs84(arr[:, 1], arr[:, 0], crs)
    return [[round(float(a), 7), round(float(o), 7), c[2]] for a, o, c in zip(lat, lon, cells)]


_CELL_KEY = """(created_at AT TIME ZONE 'Asia/Shanghai')::date, grid_code, category_code,
               round(ST_X(geom) / {fine})::int, round(ST_Y(geom) / {fine})::int""".format(fine=FINE_CELL)

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

    lo = datetime.combine(since, time(0), CN_TZ) if since else None
    hi = datetime.combine(until, time(0), CN_TZ) if until else None
    with transaction(session):
        conditions = []
        if since:
            conditions.append(HazardDailyCell.day >= since)
        if until:
            conditions.append(HazardDailyCell.day < until)
        deleted = session.execute(delete(HazardDailyCell).where(*conditions)).rowcount
        inserted = session.execute(text(REFRESH_SQL), {"lo": lo, "hi": hi}).rowcount
    return {"deleted": deleted, "cells": inserted}


ROLLUP_REFRESH_SQL = """
INSERT INTO hazard_heat_rollup (level, period_kind, period, street, category_code, ix, iy, n)
SELECT level, CAST(:kind AS varchar), period, street, coalesce(cat, ''), ix, iy, count(*)
  FROM (SELECT l.level, date_trunc(:unit, h.created_at AT TIME ZONE 'Asia/Shanghai')::date AS period,
               left(h.grid_code, 9) AS street, h.category_code AS cat,
               round(ST_X(ST_SnapToGrid(h.geom, l.size)) / l.size)::int AS ix,
               round(ST_Y(ST_SnapToGrid(h.geom, l.size)) / l.size)::int AS iy
          FROM hazard h CROSS JOIN hazard_heat_level l
         WHERE (CAST(:lo AS timestamptz) IS NULL OR h.created_at >= :lo)
           AND (CAST(:hi AS timestamptz) IS NULL OR h.created_at < :hi)) x
 GROUP BY GROUPING SETS ((level, period, street, cat, ix, iy), (level, period, street, ix, iy))
"""


def refresh_rollup(session: Session, since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """Rebuild the zoom pyramid's months and weeks that touch the Beijing days [since, until)
    (everything when open) from the hazard table, in one transaction. The triggers keep it
    current; this is the repair, and the fast path after a bulk load with the triggers off."""
    from sqlalchemy import text

    from gridmap.db import transaction

    rows = 0
    with transaction(session):
        for kind, unit in (("m", "month"), ("w", "week")):
            if kind == "m":
                lo = since.replace(day=1) if since else None
                hi = _next_month((until - timedelta(days=1)).replace(day=1)) if until else None
            else:
                lo = since - timedelta(days=since.weekday()) if since else None
                hi = until + timedelta(days=(7 - until.weekday()) % 7) if until else None
            session.execute(text("DELETE FROM hazard_heat_rollup WHERE period_kind = :kind"
                                 " AND (CAST(:lo AS date) IS NULL OR period >= :lo)"
                                 " AND (CAST(:hi AS date) IS NULL OR period < :hi)"),
                            {"kind": kind, "lo": lo, "hi": hi})
            rows += session.execute(text(ROLLUP_REFRESH_SQL), {
                "kind": kind, "unit": unit, "lo": _midnight(lo) if lo else None,
                "hi": _midnight(hi) if hi else None}).rowcount
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

    prefix = scope.narrow(within)
    if prefix is None:
        return {"type": "FeatureCollection", "features": [], "total": 0}
    conditions, params = [], {"prefix": prefix + "%", "tolerance": 360.0 / (256 * 2 ** zoom)}
    if since is not None:
        conditions.append("AND z.created_at >= :since")
        params["since"] = since
    if until is not None:
        conditions.append("AND z.created_at < :until")
        params["until"] = until
    if category:
        conditions.append("AND z.category_code IN (SELECT code FROM hazard_category WHERE code = :cat OR name = :cat)")
        params["cat"] = category
    rows = session.execute(text(GRID_DENSITY_SQL.format(conditions=" ".join(conditions))), params).all()
    features = [{"type": "Feature", "geometry": json.loads(r.geometry),
                 "properties": {"code": r.code, "name": r.name, "households": r.households, "hazards": r.hazards,
                                "per_1000": float(r.per_1000) if r.per_1000 is not None else None}} for r in rows]
    return {"type": "FeatureCollection", "features": features, "total": len(features)}
