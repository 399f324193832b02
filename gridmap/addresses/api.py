"""Address search for staff: GET /api/v1/addresses (the public form's variant: gridmap.public.api)."""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, Field

from gridmap.addresses import service
from gridmap.apidoc import operation
from gridmap.auth.roles import STAFF
from gridmap.auth.scope import AREA
from gridmap.schemas import CODE_PATTERN, SOME_TEXT
from gridmap.web import get_session

bp = Blueprint("addresses_api", __name__)


class AddressQuery(BaseModel):
    q: str = Field(min_length=1, max_length=64, pattern=SOME_TEXT, description="地址中的文字（部分即可，容错匹配）")
    within: str | None = Field(None, pattern=CODE_PATTERN, description="只查该区域（须在本人范围内）")
    limit: int = Field(20, ge=1, le=100, description="最多条数")


class AddressItem(BaseModel):
    kind: str
    ref: str
    name: str | None
    address: str
    grid: str
    lon: float
    lat: float


class AddressList(BaseModel):
    items: list[AddressItem]
    total: int


@operation(bp, "/addresses", "GET", summary="地址检索（住户与重点场所地址，按相似度）", tag="addresses", scope=AREA,
           roles=STAFF, query=AddressQuery, response=AddressList)
def addresses(scope, query: AddressQuery):
    return service.search(get_session(), scope, query.q, within=query.within, limit=query.limit)
