"""The heatmap's cells and periods, pure arithmetic (no database).

Points are snapped to a square grid (``ST_SnapToGrid``) whose cell is about 16 screen
pixels at the requested zoom, and never smaller than 1/160 of the bbox's longer side —
so a response holds at most ~26,000 cells (under 1 MB) at any zoom. A view is snapped outward
to whole cells (``cell_range``): every cell it touches is returned with its whole count.

The zoom pyramid (``hazard_heat_rollup``) keeps exact counts per level, Beijing year, month and
day; any range is covered by whole periods (``plan_periods``) and what they leave over.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from gridmap.clock import add_months, as_local, day_bounds

CELL_PIXELS = 16
MAX_CELLS_PER_SIDE = 160
Bbox = tuple[float, float, float, float]
CellRange = tuple[int, int, int, int]

ROLLUP_LEVELS = range(6, 16)  # the rows of hazard_heat_level (migrations 0012, 0016)
STREET_DIGITS = 9  # the rollup keeps the street part of the grid code, for scopes down to a street
PERIOD_KINDS = ("y", "m", "d")  # the pyramid's periods (migration 0016), largest first
DAY_LEVEL_MAX = 13  # the finest level with days (migration 0016)
FINE_PERIOD_KINDS = tuple(k for k in PERIOD_KINDS if k != "d")  # the periods of the levels finer than DAY_LEVEL_MAX

Period = tuple[str, date | None, date | None]
Span = tuple[datetime, datetime]


def zoom_size(zoom: int) -> float:
    """The cell side of ``zoom`` in degrees: a round number of 1e-7 degrees, so repeated requests
    group identically."""
    return round(360.0 / (256 * 2 ** zoom) * CELL_PIXELS, 7) or 1e-7


def cell_level(zoom: int, bbox: Bbox | None = None) -> int:
    """The zoom whose cell size is used: ``zoom`` itself, or a coarser one when the bbox would
    otherwise hold more than MAX_CELLS_PER_SIDE cells on a side. Cell sizes are therefore always
    one of the per-zoom sizes, so the zoom pyramid (hazard_heat_rollup) can answer."""
    level = zoom
    if bbox is not None:
        side = max(bbox[2] - bbox[0], bbox[3] - bbox[1])
        while level > 0 and zoom_size(level) * MAX_CELLS_PER_SIDE < side:
            level -= 1
    return level


def cell_size(zoom: int, bbox: Bbox | None = None) -> float:
    """Cell side in degrees: ~16 px at ``zoom`` (256-px Web Mercator tiles), coarsened to the
    next zoom's size while the bbox is more than MAX_CELLS_PER_SIDE cells wide."""
    return zoom_size(cell_level(zoom, bbox))


def cell_range(bbox: Bbox, size: float) -> CellRange:
    """Indexes (ix0, ix1, iy0, iy1) of the cells of side ``size`` that hold the bbox's corners: a view is
    snapped outward to whole cells, and every cell in it is counted whole (cell ``ix`` is the
    ST_SnapToGrid index, round(lon / size)) — so no view ever needs part of a cell."""
    x0, y0, x1, y1 = bbox
    return (math.floor(x0 / size + 0.5), math.floor(x1 / size + 0.5),
            math.floor(y0 / size + 0.5), math.floor(y1 / size + 0.5))


def whole_day(moment: datetime | None) -> bool:
    """An open bound, or one at a Beijing midnight."""
    if moment is None:
        return True
    local = as_local(moment)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def midnight(d: date) -> datetime:
    return day_bounds(d)[0]


def _first_day(moment: datetime) -> date:
    """The first Beijing day starting at or after ``moment``."""
    local = as_local(moment)
    return local.date() if whole_day(moment) else local.date() + timedelta(days=1)


def period_start(kind: str, d: date) -> date:
    """The first day of the period of ``kind`` that holds ``d``."""
    if kind == "y":
        return d.replace(month=1, day=1)
    if kind == "m":
        return d.replace(day=1)
    return d


def period_end(kind: str, start: date) -> date:
    """The first day after the period of ``kind`` that starts on ``start``."""
    if kind == "y":
        return date(start.year + 1, 1, 1)
    if kind == "m":
        return add_months(start, 1)
    return start + timedelta(days=1)


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
    if lo is not None and midnight(lo) > since:
        fragments.append((since, midnight(lo)))
    if hi is not None and until > midnight(hi):
        fragments.append((midnight(hi), until))
    periods: list[Period] = []
    gaps: list[tuple[date | None, date | None]] = [(lo, hi)]
    for kind in kinds:
        left = []
        for a, b in gaps:
            first = a if a is None or period_start(kind, a) == a else period_end(kind, period_start(kind, a))
            end = None if b is None else period_start(kind, b)
            if first is None or end is None or first < end:
                periods.append((kind, first, end))
                left += [g for g in ((a, first), (end, b)) if None not in g and g[0] < g[1]]
            else:
                left.append((a, b))
        gaps = left
    spans: list[Span] = []
    for a, b in sorted(fragments + [(midnight(a), midnight(b)) for a, b in gaps]):
        if spans and spans[-1][1] == a:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return periods, spans
