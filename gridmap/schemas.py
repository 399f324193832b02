"""Request and response models shared by several APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from gridmap.hazards.calendar import as_local

CODE_PATTERN = r"^[0-9]{1,24}$"


def _query_moment(value: datetime) -> datetime:
    if not 2000 <= value.year <= 2100:
        raise ValueError("时间应在 2000 年至 2100 年之间")
    return as_local(value)


# A time bound in a query (since/until): without an offset it is Beijing time, as everywhere in
# the product; far-off years are refused (they cannot bound real records, and overflow periods).
QueryMoment = Annotated[datetime, AfterValidator(_query_moment)]


class Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=1000, description="每页条数")
    offset: int = Field(0, ge=0, le=10_000_000, description="起始位置")


class AreaFilter(Page):
    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀")


class BboxFilter(AreaFilter):
    bbox: tuple[float, float, float, float] | None = Field(
        None, description="最小经度,最小纬度,最大经度,最大纬度 (WGS-84)")

    @field_validator("bbox", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = value.split(",")
            if len(parts) != 4:
                raise ValueError("bbox 应为 4 个数：最小经度,最小纬度,最大经度,最大纬度")
            return parts
        return value

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, value: tuple[float, float, float, float] | None) -> Any:
        if value is None:
            return value
        min_lon, min_lat, max_lon, max_lat = value
        if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
            raise ValueError("bbox 范围不正确")
        return value


class ListResponse(BaseModel):
    items: list[dict[str, Any]]
    total: int


class FeatureCollection(BaseModel):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]
    total: int


class Feature(BaseModel):
    type: str = "Feature"
    geometry: dict[str, Any] | None
    properties: dict[str, Any]
