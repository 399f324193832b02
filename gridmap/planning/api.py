"""Planning: boundary preview and edits, split, merge, versions, proposals (API.md "Planning")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel, Field, field_validator

from gridmap.apidoc import operation
from gridmap.auth.roles import ADMIN, PLANNER, SUPERVISOR
from gridmap.auth.scope import AREA
from gridmap.messages import message
from gridmap.planning import proposals, reshape, service
from gridmap.planning.geojson import Line, OptionalReason, Polygonal, ProposedFeature, Reason
from gridmap.schemas import CODE_PATTERN, Crs, FeatureCollection
from gridmap.web import get_session

bp = Blueprint("planning_api", __name__)

PLANNERS = (ADMIN, PLANNER)
# Boundaries drawn or proposed (up to 999 grids at once) are larger than other JSON bodies.
GEOMETRY_BODY_LIMIT = 16 * 1024 * 1024
READERS = (ADMIN, PLANNER, SUPERVISOR)

# Refusals of a well-formed request that depend on stored data or on what a shape is, which no
# JSON schema can state (x-data-dependent-errors): a ring that does not close, a self-intersection,
# a position outside China (after the declared CRS), an EPSG code PROJ does not know ...
GEOMETRY_ERRORS = ("ring_not_closed", "self_intersection", "invalid_geometry", "coordinate_outside_china",
                   "coordinate_swapped", "coordinate_not_number", "invalid_crs")
# ... a retired grid, a boundary outside its community or over a neighbour, no codes left.
GRID_ERRORS = ("grid_not_editable", "grid_outside_community", "grid_overlaps_sibling")
NEW_GRID_ERRORS = ("grid_community_no_boundary", "grid_codes_exhausted")
# target_min <= target_max relates two values; only a community (9 or 12 digits) or a street
# whose communities have boundaries and households can be divided.
PROPOSAL_ERRORS = ("proposal_targets_invalid", "proposal_not_community", "proposal_no_boundary",
                   "proposal_no_households")
FEATURE_ERRORS = ("unknown_parent", "grid_outside_community", "proposal_features_overlap", *GEOMETRY_ERRORS)


class PreviewBody(BaseModel):
    geometry: Polygonal
    crs: Crs = None


class PreviewResponse(BaseModel):
    households_before: int
    households_after: int
    moved_in: int
    moved_out: int
    moved_in_codes: list[str]
    moved_out_codes: list[str]
    overlaps: list[dict[str, Any]]
    gap_area_m2: float
    within_target: bool
    within_community: bool
    grids: list[dict[str, Any]]


class GeometryBody(PreviewBody):
    version: int = Field(ge=0, description="开始编辑时的版本号；已变化时返回 409")
    reason: Reason = Field(description="修改原因（必填，不能只有空白）")
    force: bool = Field(False, description="确需与相邻网格重叠时强制保存（须填写原因）")


class GridResult(BaseModel):
    code: str
    name: str
    version: int
    households: int
    geometry: dict[str, Any] | None


class SplitBody(BaseModel):
    line: Line
    crs: Crs = None
    reason: OptionalReason = Field("", description="拆分原因（空则为“分割网格”）")
    version: int | None = Field(None, ge=0)


class SplitResponse(BaseModel):
    grids: list[dict[str, Any]]


class MergeBody(BaseModel):
    codes: list[str] = Field(
        min_length=2, max_length=50, json_schema_extra={"uniqueItems": True}, description="要合并的网格编码（互不相同）")
    reason: OptionalReason = Field("", description="合并原因（空则为“合并网格”）")

    @field_validator("codes")
    @classmethod
    def _distinct(cls, codes: list[str]) -> list[str]:
        if len(set(codes)) != len(codes):
            raise ValueError(message("grid_codes_repeated"))
        return codes


class VersionsQuery(BaseModel):
    geometry: bool = Field(False, description="是否返回每一版的边界")


class VersionsResponse(BaseModel):
    code: str
    version: int
    items: list[dict[str, Any]]
    total: int


class RevertBody(BaseModel):
    version: int = Field(ge=1, description="要恢复的历史版本号")
    reason: OptionalReason = Field("", description="恢复原因（空则为“恢复到第 N 版”）")
    current_version: int | None = Field(None, ge=0, description="开始操作时的当前版本号")
    force: bool = False


class NewGridBody(PreviewBody):
    name: str | None = Field(None, max_length=100, description="网格名称（默认“社区名第N网格”）")
    reason: Reason = Field(description="新建原因（必填，不能只有空白）")
    force: bool = Field(False, description="确需与相邻网格重叠时强制保存（须填写原因）")


class NewGridPreviewResponse(PreviewResponse):
    code: str = Field(description="新网格将获得的编码")
    name: str
    moved_in_from: dict[str, int] = Field(description="迁入住户原属网格及户数（unassigned 为未分配）")


class ProposalBody(BaseModel):
    within: str = Field(pattern=CODE_PATTERN, description="社区或街道编码")
    target_min: int = Field(300, ge=1, le=100_000)
    target_max: int = Field(500, ge=1, le=100_000)


class ProposalFeaturesBody(ProposalBody):
    features: list[ProposedFeature] = Field(min_length=1, max_length=999,
                                            description="（可调整后的）方案网格：GeoJSON Feature")
    crs: Crs = None


class AcceptBody(ProposalFeaturesBody):
    reason: str = Field("", max_length=500, description="采纳原因（空或只有空白则为默认原因）")


class ProposalPreviewResponse(FeatureCollection):
    overlaps: list[dict[str, Any]] = Field(description="相互重叠（超过 1 平方米）的方案网格序号与面积")
    households_uncovered: int = Field(description="不在任何方案网格内的住户数")
    acceptable: bool = Field(description="无重叠且都在社区内，可以采纳")


@operation(bp, "/grids/<code>/preview", "POST", summary="预览网格边界修改（不保存）", tag="planning", scope=AREA,
           roles=PLANNERS, body=PreviewBody, response=PreviewResponse, errors=(404, 422),
           max_body=GEOMETRY_BODY_LIMIT,
           data_errors=GEOMETRY_ERRORS + ("grid_not_editable",))
def preview(scope, code: str, body: PreviewBody):
    return service.preview(get_session(), scope, code, body.geometry, body.crs)


@operation(bp, "/grids/<code>/geometry", "PUT", summary="保存网格边界（新版本）", tag="planning", scope=AREA,
           roles=PLANNERS, body=GeometryBody, response=GridResult, errors=(404, 409, 422),
           max_body=GEOMETRY_BODY_LIMIT,
           data_errors=GEOMETRY_ERRORS + GRID_ERRORS + ("grid_version_stale",))
def save_geometry(scope, code: str, body: GeometryBody):
    return service.save_geometry(get_session(), scope, code, body.geometry, body.crs, body.version,
                                 body.reason, body.force)


@operation(bp, "/communities/<code>/grids/preview", "POST", summary="预览在社区内新建网格（不保存）", tag="planning",
           scope=AREA, roles=PLANNERS, body=PreviewBody, response=NewGridPreviewResponse, errors=(404, 422),
           max_body=GEOMETRY_BODY_LIMIT,
           data_errors=GEOMETRY_ERRORS + NEW_GRID_ERRORS)
def preview_new_grid(scope, code: str, body: PreviewBody):
    return reshape.preview_new(get_session(), scope, code, body.geometry, body.crs)


@operation(bp, "/communities/<code>/grids", "POST", summary="在社区内新建网格（分配下一个编码，第 1 版）",
           tag="planning", scope=AREA, roles=PLANNERS, body=NewGridBody, response=GridResult, response_status=201,
           errors=(404, 422),
           max_body=GEOMETRY_BODY_LIMIT,
           data_errors=GEOMETRY_ERRORS + NEW_GRID_ERRORS + GRID_ERRORS[1:])
def create_grid(scope, code: str, body: NewGridBody):
    result = reshape.create_grid(get_session(), scope, code, body.geometry, body.crs, body.name, body.reason,
                                 body.force)
    return result, 201


@operation(bp, "/grids/<code>/split", "POST", summary="沿分割线拆分网格", tag="planning", scope=AREA,
           roles=PLANNERS, body=SplitBody, response=SplitResponse, errors=(404, 409, 422),
           max_body=GEOMETRY_BODY_LIMIT,
           data_errors=GEOMETRY_ERRORS + ("grid_not_editable", "grid_version_stale", "grid_split_line_invalid",
                                          "grid_codes_exhausted"))
def split(scope, code: str, body: SplitBody):
    return reshape.split(get_session(), scope, code, body.line, body.crs, body.reason, body.version)


@operation(bp, "/grids/merge", "POST", summary="合并相邻网格", tag="planning", scope=AREA,
           roles=PLANNERS, body=MergeBody, response=GridResult, errors=(404, 422),
           data_errors=("grid_not_editable", "grid_merge_not_adjacent"))
def merge(scope, body: MergeBody):
    return reshape.merge(get_session(), scope, body.codes, body.reason)


@operation(bp, "/grids/<code>/versions", "GET", summary="网格边界历史版本与对比", tag="planning", scope=AREA,
           roles=READERS, query=VersionsQuery, response=VersionsResponse, errors=(404,))
def versions(scope, code: str, query: VersionsQuery):
    return service.versions(get_session(), scope, code, query.geometry)


@operation(bp, "/grids/<code>/revert", "POST", summary="恢复网格到历史版本（生成新版本）", tag="planning", scope=AREA,
           roles=PLANNERS, body=RevertBody, response=GridResult, errors=(404, 409, 422),
           data_errors=("grid_not_editable", "grid_version_stale", *GRID_ERRORS[1:]))
def revert(scope, code: str, body: RevertBody):
    return service.revert(get_session(), scope, code, body.version, body.reason, body.current_version, body.force)


@operation(bp, "/planning/proposals", "POST", summary="生成网格划分方案（不保存）", tag="planning", scope=AREA,
           roles=PLANNERS, body=ProposalBody, response=FeatureCollection, errors=(404, 422),
           data_errors=PROPOSAL_ERRORS)
def propose(scope, body: ProposalBody):
    return proposals.propose(get_session(), scope, body.within, body.target_min, body.target_max)


@operation(bp, "/planning/proposals/preview", "POST", summary="重新统计调整后的划分方案（不保存）", tag="planning",
           scope=AREA, roles=PLANNERS, body=ProposalFeaturesBody, response=ProposalPreviewResponse, errors=(404, 422),
           max_body=GEOMETRY_BODY_LIMIT,
           data_errors=PROPOSAL_ERRORS + FEATURE_ERRORS)
def preview_proposal(scope, body: ProposalFeaturesBody):
    return proposals.preview_proposal(get_session(), scope, body.within, body.features, body.crs, body.target_min,
                                      body.target_max)


@operation(bp, "/planning/proposals/accept", "POST", summary="采纳划分方案（一次性保存）", tag="planning", scope=AREA,
           roles=PLANNERS, body=AcceptBody, response=FeatureCollection, errors=(404, 409, 422),
           max_body=GEOMETRY_BODY_LIMIT,
           data_errors=PROPOSAL_ERRORS[1:] + FEATURE_ERRORS)
def accept(scope, body: AcceptBody):
    return proposals.accept(get_session(), scope, body.within, body.features, body.crs, body.reason)
