"""Household information collection pages (基础信息采集): the add/edit form (phone and desktop;
a point picked on the offline map or the phone's position), a household's history with the
comparison of two versions, and the community's approval of sensitive changes.

The pages read through the same services as the API (gridmap.households.edits, history,
approvals), masked as the API masks; the form's JS writes through the API itself
(static/js/households/send.js), so a page never shows or stores what the API would not.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template
from pydantic import BaseModel, ConfigDict, Field

from gridmap.areas.service import list_grids
from gridmap.auth.scope import AREA
from gridmap.config import GAODE_SUBDOMAINS, GAODE_TILES, tiles_are_gcj02
from gridmap.households import approvals, edits, history
from gridmap.households.edit_api import APPROVERS, EDITORS, HistoryQuery
from gridmap.labels import label, labels
from gridmap.maps.display import display_crs, for_basemap
from gridmap.messages import message
from gridmap.pages import page
from gridmap.schemas import AreaFilter
from gridmap.web import get_session

bp = Blueprint("household_pages", __name__)

GRID_CODE = r"^([0-9]{15})?$"


class NewQuery(BaseModel):
    grid: str = Field("", pattern=GRID_CODE, description="网格编码（地图先显示该网格）")


class EditQuery(BaseModel):
    saved: bool = Field(False, description="刚保存（表单提交后的提示）")
    pending: str = Field("", pattern=r"^[a-z_,]{0,64}$", description="待审核的字段（逗号分隔）")


class HistoryPageQuery(HistoryQuery):
    model_config = ConfigDict(extra="forbid")


def _common(user) -> dict[str, Any]:
    return {"user": user, "role_name": label(user.role, "role"), "field_names": labels("household_field"),
            "status_names": labels("household_status"), "risk_names": labels("risk_level"),
            "kind_names": labels("household_change_kind"), "change_names": labels("household_change_status")}


def _form_config(scope, household: dict[str, Any] | None, grid: str) -> dict[str, Any]:
    """What the form's script needs: the basemap, the outlines of the caller's grids (in the
    basemap's CRS), the household as the caller may see it and its point as drawn."""
    tiles = current_app.config["GRIDMAP"].tiles
    gaode = tiles_are_gcj02(tiles)
    grids = list_grids(get_session(), scope, None, None, limit=2000, offset=0)
    outlines = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g["geometry"],
         "properties": {"code": g["properties"]["code"], "name": g["properties"]["name"]}}
        for g in grids["features"] if g.get("geometry")]}
    drawn = None
    if household is not None:
        point = {"type": "Feature", "properties": {},
                 "geometry": {"type": "Point", "coordinates": [household["lon"], household["lat"]]}}
        drawn = for_basemap({"type": "FeatureCollection", "features": [point]}, tiles)["features"][0]["geometry"]
    return {"tiles": None if tiles in (None, "", "none") else (GAODE_TILES if gaode else tiles),
            "subdomains": GAODE_SUBDOMAINS if gaode else "abc", "map_crs": display_crs(tiles),
            "grids": for_basemap(outlines, tiles), "focus_grid": grid, "household": household,
            "drawn": drawn["coordinates"] if drawn else None, "field_names": dict(labels("household_field")),
            "risk_names": dict(labels("risk_level")), "status_names": dict(labels("household_status"))}


@page(bp, "/households/new", summary="新增住户（手机、电脑；网格员在本网格，督导在辖区）", scope=AREA, roles=EDITORS,
      query=NewQuery)
def new(user, scope, query: NewQuery):
    """新增住户：地址、户主、电话、人数、标签、风险等级，位置在地图上点选或取手机定位。"""
    return render_template("household_form.html", title=message("title_household_new"), household=None,
                           config=_form_config(scope, None, query.grid), saved=False, pending=[], **_common(user))


@page(bp, "/households/<household_code>/edit", summary="修改住户信息（带版本；冲突时合并）", scope=AREA, roles=EDITORS,
      query=EditQuery)
def edit(user, scope, household_code: str, query: EditQuery):
    """修改住户：与新增相同的表单，带当前版本；被他人修改（409）时逐项选择保留哪一方。"""
    session = get_session()
    row = edits.household_row(session, scope, household_code)
    household = edits.household_out(session, scope, row, "household_form")
    return render_template("household_form.html", title=message("title_household_edit", code=row.code),
                           household=household, config=_form_config(scope, household, row.grid or ""),
                           saved=query.saved, pending=[p for p in query.pending.split(",") if p], **_common(user))


@page(bp, "/households/<household_code>/history", summary="住户修改记录（版本比较）", scope=AREA, roles=EDITORS,
      query=HistoryPageQuery)
def household_history(user, scope, household_code: str, query: HistoryPageQuery):
    """每次修改一个版本：谁、何时、哪台设备、每项修改前 → 修改后；可比较任意两个版本。"""
    shown = history.history(get_session(), scope, household_code, unmask=query.unmask, since=query.from_version,
                            until=query.to_version)
    return render_template("household_history.html", title=message("title_household_history", code=shown["household"]),
                           shown=shown, query=query, **_common(user))


@page(bp, "/households/approvals", summary="住户敏感信息修改审核（社区督导）", scope=AREA, roles=APPROVERS,
      query=AreaFilter)
def approvals_page(user, scope, query: AreaFilter):
    """待审核的修改（重点人员标签、风险等级）：修改前 → 修改后，填写意见后通过或驳回。"""
    waiting = approvals.pending(get_session(), scope, query.within, query.limit, query.offset)
    for item in waiting["items"]:
        item["fields"] = {name: {"before": item["before"].get(name), "after": value} for name, value in item["after"].items()}
    return render_template("household_approvals.html", title=message("title_household_approvals"), waiting=waiting,
                           **_common(user))
