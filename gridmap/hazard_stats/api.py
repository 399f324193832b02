"""Hazard statistics (API.md "Hazards", "Reports"): the heatmap's cells, density per grid and
the 平安报表 as JSON, CSV or XLSX."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, current_app
from pydantic import BaseModel, Field

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, STAFF, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.clock import PERIOD_PATTERN
from gridmap.hazard_stats import export
from gridmap.hazard_stats.density import grid_density
from gridmap.hazard_stats.heatmap import heatmap_cells
from gridmap.hazard_stats.safety import safety_report
from gridmap.hazard_stats.trend import MAX_COUNT, safety_trend
from gridmap.hazards.api import HazardList
from gridmap.maps.display import bbox_to_wgs84, cells_for_display, for_display
from gridmap.schemas import CODE_PATTERN, BboxFilter, Month, QueryMoment
from gridmap.web import get_session

bp = Blueprint("hazard_stats_api", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class HeatmapQuery(BboxFilter):
    zoom: int = Field(13, ge=0, le=22, description="地图缩放级别（决定格网大小）")
    since: QueryMoment | None = None
    until: QueryMoment | None = None
    category: str | None = Field(None, max_length=32)
    display: Literal["wgs84", "gcj02"] | None = Field(
        None, description="地图底图坐标系：gcj02（高德底图）时 bbox 按 GCJ-02 理解，格网中心也按 GCJ-02 返回")


class HeatmapResponse(BaseModel):
    cells: list[list[float]]
    cell_size: float
    total: int
    source: str = Field("hazards", description="rollup：来自分级（按年、月、日）汇总；daily：来自按日预聚合；hazards：直接统计")


class GridDensityQuery(BaseModel):
    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀")
    zoom: int = Field(13, ge=0, le=22, description="地图缩放级别（决定边界简化程度）")
    since: QueryMoment | None = None
    until: QueryMoment | None = None
    category: str | None = Field(None, max_length=32)
    display: Literal["wgs84", "gcj02"] | None = Field(
        None, description="地图底图坐标系：gcj02（高德底图）时网格边界按 GCJ-02 返回")


class SafetyQuery(BaseModel):
    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀")
    month: Month | None = Field(None, description="月份 YYYY-MM（默认本月；与 period 二选一）")
    period: str | None = Field(None, pattern=PERIOD_PATTERN,
                               description="周期：2026-W49（ISO 周，周一至周日）、2026-11（月）、2026-Q4（季度）、2026（年）")
    format: Literal["json", "csv", "xlsx"] = "json"


class SafetyResponse(BaseModel):
    period: str
    kind: str
    month: str | None
    first_day: str
    last_day: str
    within: str
    thresholds: dict[str, dict[str, float]]
    satisfaction_target: float
    items: list[dict[str, Any]]


class TrendQuery(BaseModel):
    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀")
    kind: Literal["week", "month", "quarter", "year"] = Field("month", description="周期类型")
    count: int = Field(6, ge=1, le=MAX_COUNT, description="期数（最近若干期，含 until 所在一期）")
    until: str | None = Field(None, pattern=PERIOD_PATTERN, description="最后一期（与 kind 同类的周期；默认当前一期）")


class TrendResponse(BaseModel):
    kind: str
    periods: list[str]
    within: str
    areas: list[dict[str, Any]]


@operation(bp, "/hazards/heatmap", "GET", summary="问题隐患热力格网（数据库聚合）", tag="hazards", scope=AREA,
           roles=STAFF, query=HeatmapQuery, response=HeatmapResponse, errors=(422,), data_errors=("hazard_category_unknown",))
def hazard_heatmap(scope, query: HeatmapQuery):
    # Counting is in WGS-84; the view's bbox comes in, and its cells go back, in the map's CRS.
    result = heatmap_cells(get_session(), scope, bbox=bbox_to_wgs84(query.bbox, query.display), zoom=query.zoom,
                           since=query.since, until=query.until, category=query.category, within=query.within)
    return {**result, "cells": cells_for_display(result["cells"], query.display)}


@operation(bp, "/hazards/grid-density", "GET", summary="按网格的问题密度（每千户问题数，数据库计算）", tag="hazards",
           scope=AREA, roles=STAFF, query=GridDensityQuery, response=HazardList, errors=(422,),
           data_errors=("hazard_category_unknown",))
def hazard_grid_density(scope, query: GridDensityQuery):
    return for_display(grid_density(get_session(), scope, within=query.within, since=query.since,
                                    until=query.until, category=query.category, zoom=query.zoom), query.display)


@operation(bp, "/reports/safety", "GET", summary="平安报表（网格、社区、街道；红黄绿三色预警；CSV/XLSX）",
           tag="reports", scope=AREA, roles=(ADMIN, SUPERVISOR), query=SafetyQuery, response=SafetyResponse,
           errors=(422,), content_types=("application/json", "text/csv", XLSX))
def safety_report_api(scope, query: SafetyQuery):
    result = safety_report(get_session(), scope, within=query.within, month=query.month, period=query.period,
                           patrol_rules=current_app.config["GRIDMAP"].patrol,
                           configured=current_app.config["GRIDMAP"].safety_thresholds,
                           satisfaction_target=current_app.config["GRIDMAP"].satisfaction_target)
    if query.format == "json":
        return export.named(result)
    name = f"safety-{result['period']}-{result['within'] or 'all'}"
    if query.format == "csv":
        body, mimetype = export.to_csv(result), "text/csv; charset=utf-8"
    else:
        body, mimetype = export.to_xlsx(result), XLSX
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={name}.{query.format}"})


@operation(bp, "/reports/safety/trend", "GET", summary="平安报表趋势（最近若干周/月/季/年，各区域办结率、超期与三色）",
           tag="reports", scope=AREA, roles=(ADMIN, SUPERVISOR), query=TrendQuery, response=TrendResponse,
           errors=(422,))
def safety_trend_api(scope, query: TrendQuery):
    settings = current_app.config["GRIDMAP"]
    return safety_trend(get_session(), scope, within=query.within, kind=query.kind, count=query.count,
                        until=query.until, patrol_rules=settings.patrol, configured=settings.safety_thresholds)
