"""Pages: the hazard heatmap /maps/hazards and the 平安报表 /reports/safety."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, render_template, url_for
from pydantic import BaseModel, Field

from gridmap.areas import service as areas
from gridmap.auth.roles import ADMIN, STAFF, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.clock import (
    MONTH_PATTERN,
    PERIOD_KINDS,
    PERIOD_PATTERN,
    add_months,
    parse_period,
    period_of,
    shift_period,
    this_month,
    today,
)
from gridmap.departments.ranking import department_ranking
from gridmap.hazard_stats.heatmap import category_code, heatmap_cells
from gridmap.hazard_stats.safety import area_options, safety_report
from gridmap.hazard_stats.trend import MAX_COUNT, SPARK_HEIGHT, SPARK_WIDTH, safety_trend
from gridmap.hazards import service as hazards
from gridmap.hazards.models import OPEN_STATUSES
from gridmap.labels import label
from gridmap.maps.display import bounds_for_basemap, display_crs
from gridmap.maps.hazards import build_hazard_map
from gridmap.maps.tiled import grid_tile_url, layer_config, use_tiles
from gridmap.messages import message
from gridmap.pages import empty_state, map_parts, may_open, page
from gridmap.web import get_session

bp = Blueprint("hazard_stats_pages", __name__)


class SafetyPageQuery(BaseModel):
    month: str = Field("", pattern=rf"^$|{MONTH_PATTERN}", description="月份 YYYY-MM（空：上月，最近一个完整的月份）")
    period: str = Field("", pattern=rf"^$|{PERIOD_PATTERN}", description="周期 2026-W49、2026-11、2026-Q4、2026（与月份二选一）")
    within: str = Field("", pattern=r"^[0-9]{0,24}$", description="区域编码前缀（空：全部）")


class TrendPageQuery(BaseModel):
    kind: Literal["week", "month", "quarter", "year"] = "month"
    count: int = Field(6, ge=1, le=MAX_COUNT)
    within: str = Field("", pattern=r"^[0-9]{0,24}$", description="区域编码前缀（空：全部）")


class HeatmapPageQuery(BaseModel):
    category: str = Field("", max_length=32)


@page(bp, "/reports/safety", summary="平安报表", scope=AREA, roles=(ADMIN, SUPERVISOR), query=SafetyPageQuery)
def safety_report_page(user, scope, query: SafetyPageQuery):
    """平安报表：按月、按区域，网格/社区/街道的发现、办结、按期、超期、处置时长、巡查覆盖，红黄绿与排名。"""
    session = get_session()
    within = query.within or None
    # A month's report is read once the month is over: the page opens on the last whole month (in its
    # first days the current month is red for want of patrols that are not due yet); the API's
    # default stays this month, as API.md says.
    month = query.month or (None if query.period else f"{add_months(this_month(), -1):%Y-%m}")
    report = safety_report(session, scope, within=within, month=month, period=query.period or None,
                           patrol_rules=current_app.config["GRIDMAP"].patrol,
                           configured=current_app.config["GRIDMAP"].safety_thresholds,
                           satisfaction_target=current_app.config["GRIDMAP"].satisfaction_target)
    span = parse_period(report["period"])
    link = (f"month={report['month']}" if report["month"] else f"period={report['period']}") + \
        (f"&within={within}" if within else "")
    # Each kind's last whole period, and this report's neighbours.
    kinds = {kind: shift_period(period_of(kind, today()), -1).label for kind in PERIOD_KINDS}
    steps = {"previous": shift_period(span, -1).label, "next": shift_period(span, 1).label}
    return render_template("safety_report.html", title=message("title_safety_report", month=report["period"]),
                           report=report, within=within or "", areas=area_options(session, scope), query=link,
                           kinds=kinds, steps=steps, user=user, role_name=label(user.role, "role"),
                           department_ranking=_department_ranking(session, scope, within, span))


def _department_ranking(session, scope, within: str | None, span) -> list[dict]:
    """The 部门报到 ranking for the report's period (gridmap.departments.ranking; its own table)."""
    start, end = span.bounds()
    return department_ranking(session, scope, within=within, start=start, end=end)


@page(bp, "/reports/safety/trend", summary="平安报表趋势", scope=AREA, roles=(ADMIN, SUPERVISOR),
      query=TrendPageQuery)
def safety_trend_page(user, scope, query: TrendPageQuery):
    """平安报表趋势：最近若干期（周、月、季、年），各区域每期的办结率、超期数与红黄绿，附折线（可打印）。"""
    session = get_session()
    settings = current_app.config["GRIDMAP"]
    trend = safety_trend(session, scope, within=query.within or None, kind=query.kind, count=query.count,
                         until=None, patrol_rules=settings.patrol, configured=settings.safety_thresholds)
    return render_template("safety_trend.html", title=message("title_safety_trend"), trend=trend,
                           within=query.within, count=query.count, areas=area_options(session, scope),
                           spark=(SPARK_WIDTH, SPARK_HEIGHT), user=user, role_name=label(user.role, "role"))


@page(bp, "/maps/hazards", summary="问题隐患热力图", scope=AREA, roles=STAFF, query=HeatmapPageQuery)
def heatmap_page(user, scope, query: HeatmapPageQuery):
    """Density of hazards (computed in the database) and the open ones as clustered markers."""
    session = get_session()
    category = query.category or None
    cells = heatmap_cells(session, scope, bbox=None, zoom=13, category=category)
    open_ones = hazards.list_hazards(session, scope, statuses=list(OPEN_STATUSES), category=category, limit=2000)
    settings = current_app.config["GRIDMAP"]
    tiles = settings.tiles
    title = message("title_hazard_heatmap")
    empty = not cells["cells"] and not open_ones["total"]
    # Many grids: the 每千户 choropleth comes from vector tiles (the page script sets the period).
    tiled = use_tiles(areas.grid_fill_counts(session, scope, None)["total"], settings.tile_threshold, tiles)
    fmap = build_hazard_map(cells["cells"], open_ones, title=title, tiles=tiles, grid_tiles=tiled,
                            area_bounds=bounds_for_basemap(areas.area_bounds(session, scope), tiles) if empty else None)
    config = {**fmap.gridmap_layers, "category": category or "", "map_crs": display_crs(tiles),
              "grid_tiles": _choropleth_tiles(category_code(session, category)) if tiled else None}
    return render_template("hazards_map.html", title=title, user=user, role_name=label(user.role, "role"),
                           heat_config=config, open_count=open_ones["total"], cell_count=len(cells["cells"]),
                           category=category or "", categories=hazards.categories(session),
                           empty=_empty_heatmap(session, user, scope) if empty else None, **map_parts(fmap))


def _choropleth_tiles(category: str) -> dict:
    """The tile layer of the 每千户 choropleth; heatmap.js adds the period, colours and popup."""
    return layer_config(url=grid_tile_url(hazards="true", hazards_category=category or None),
                        colour={"property": "per_1000", "steps": []}, popup="")


def _empty_heatmap(session, user, scope) -> dict:
    link = url_for("hazard_pages.new") if may_open("/hazards/new", user.role) else None
    return empty_state(message("empty_hazards", area=areas.area_label(session, scope.prefix)),
                       action=message("empty_hazards_action"), link=link)
