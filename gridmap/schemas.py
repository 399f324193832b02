"""Request and response models shared by several APIs, and the validated types every API
uses for the values they have in common (codes, coordinates, CRS names, days, months, moments,
bounding boxes). Each type is its own check and its own OpenAPI description, so the document
states exactly what the code refuses."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from gridmap.clock import DAY_PATTERN, MOMENT_PATTERN, MONTH_PATTERN, as_local
from gridmap.geo.crs import NAMES as CRS_ALIASES
from gridmap.geo.validate import CHINA_BBOX
from gridmap.messages import message

CODE_PATTERN = r"^[0-9]{1,24}$"
# Text that is not blank and holds no NUL (PostgreSQL text cannot): as a pattern of its own the
# document states both (a bare \S would allow a NUL the API then refuses).
SOME_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"

# --- days, months and moments: years 2000-2100 only, every one a real calendar day ----------
# Far-off years cannot bound real records and overflow period arithmetic (a year-0 month was a
# 500), so the range is part of the syntax: the pattern below is both the check and the document.


def _matching(pattern: str, refusal: str):
    """Refuse text not matching ``pattern`` with the gridmap.messages text ``refusal``."""
    compiled = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, (date, datetime)):  # already parsed (Python callers)
            return value
        if not isinstance(value, str) or not compiled.match(value):
            raise ValueError(message(refusal, years=message("supported_years")))
        return value

    return BeforeValidator(check)


# A calendar day, YYYY-MM-DD.
Day = Annotated[date, _matching(DAY_PATTERN, "day_format"),
                WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN})]
# A calendar month, YYYY-MM (kept as text: services take it as given).
Month = Annotated[str, _matching(MONTH_PATTERN, "month_format"),
                  WithJsonSchema({"type": "string", "pattern": MONTH_PATTERN})]
# A time bound in a query (since/until), ISO 8601 with a time to the second: without an offset
# it is Beijing time, as everywhere in the product (so not RFC 3339's date-time, which needs one).
QueryMoment = Annotated[datetime, _matching(MOMENT_PATTERN, "moment_format"),
                        AfterValidator(as_local),
                        WithJsonSchema({"type": "string", "pattern": MOMENT_PATTERN})]



# --- coordinates and CRS names -----------------------------------------------------------
# A point is checked where it is declared (gridmap.coordinates): inside China's box, else 422
# coordinate_outside_china (coordinate_swapped when lon and lat are the wrong way round). The
# document states China's box.
_WEST, _SOUTH, _EAST, _NORTH = CHINA_BBOX
Lon = Annotated[float, Field(allow_inf_nan=False,
                             json_schema_extra={"minimum": _WEST, "maximum": _EAST},
                             description=f"经度（中国境内 {_WEST}～{_EAST}；EPSG 投影坐标系时为 x）")]
Lat = Annotated[float, Field(allow_inf_nan=False,
                             json_schema_extra={"minimum": _SOUTH, "maximum": _NORTH},
                             description=f"纬度（中国境内 {_SOUTH}～{_NORTH}；EPSG 投影坐标系时为 y）")]
# The names a client sends: what gridmap.geo.crs.parse_crs takes, in any case and with spaces
# around ("" is the default, wgs84), or EPSG:<n> (projected x/y in lon/lat). A name of another
# form is a 400; an EPSG code PROJ does not know (or not a 2-D one) is the data-dependent 422
# invalid_crs.
def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else "[ ]" if c == " " else c for c in word)


CRS_PATTERN = (r"^\s*(?:" + "|".join(_any_case(name) for name in sorted(CRS_ALIASES, key=len, reverse=True))
               + r"|[eE][pP][sS][gG]:\s*[0-9]{1,6})?\s*$")
_CRS_TEXT = message("crs_names")


def _crs_name(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or not re.match(CRS_PATTERN, value)):
        raise ValueError(_CRS_TEXT)
    return value


Crs = Annotated[str | None, BeforeValidator(_crs_name), Field(description=_CRS_TEXT),
                WithJsonSchema({"anyOf": [{"type": "string", "pattern": CRS_PATTERN}, {"type": "null"}],
                                "description": _CRS_TEXT})]


class Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=1000, description="每页条数")
    offset: int = Field(0, ge=0, le=10_000_000, description="起始位置")


class AreaFilter(Page):
    within: str | None = Field(None, pattern=CODE_PATTERN, description="区域编码前缀")


class BboxFilter(AreaFilter):
    # Two opposite corners of the map view, in any order: the code orders them and clamps
    # latitudes to the poles, so any four numbers within +-180 are a rectangle.
    bbox: list[Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]] | None = Field(
        None, min_length=4, max_length=4, json_schema_extra={"x-explode": False},
        description="最小经度,最小纬度,最大经度,最大纬度（WGS-84，逗号分隔）")

    @field_validator("bbox", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return value.split(",") if isinstance(value, str) else value

    @field_validator("bbox")
    @classmethod
    def _rectangle(cls, value: list[float] | None) -> tuple[float, float, float, float] | None:
        if value is None:
            return None
        lon1, lat1, lon2, lat2 = value
        lat1, lat2 = (max(-90.0, min(90.0, v)) for v in (lat1, lat2))
        return min(lon1, lon2), min(lat1, lat2), max(lon1, lon2), max(lat1, lat2)


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


def described(schema: dict[str, Any], *, description: str) -> dict[str, Any]:
    """A hand-written JSON schema with its OpenAPI description (documentation, like ``summary=``)."""
    return {**schema, "description": description}


# The id the phone's offline outbox gives a write (static/js/outbox.js): a UUID, so a re-sent
# request is recognised. It belongs to its author: another user's request with it is a 409.
ClientId = Annotated[UUID | None, Field(None, description="手机离线待发队列为这次提交生成的编号（UUID）；"
                                                        "重发同一编号返回首次保存的结果，不重复保存")]


def client_request(client_id: UUID | None, request: dict[str, Any]) -> tuple[str, str] | None:
    """(client id, SHA-256 of the request) for a write sent with a client id, else None: the same
    id re-sent with another request is refused, not answered with the first one."""
    if client_id is None:
        return None
    canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return str(client_id), hashlib.sha256(canonical.encode()).hexdigest()
