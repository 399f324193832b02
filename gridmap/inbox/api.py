"""Inbox API: what waits for the caller (GET /api/v1/inbox) and how much (GET /api/v1/inbox/count,
what the top bar's badge polls). gridmap.inbox.service owns the queries."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, current_app
from pydantic import BaseModel, Field

from gridmap.apidoc import operation
from gridmap.auth.scope import AREA_OWN_CONTACTS
from gridmap.inbox import service
from gridmap.web import get_session

bp = Blueprint("inbox_api", __name__)

Kind = Literal["overdue", "due_soon", "assigned", "supervised", "approvals", "visits_due", "behind"]


class InboxQuery(BaseModel):
    section: Kind | None = Field(None, description="只看一个分区（翻页用）：overdue 已超期、due_soon 24 小时内到期、"
                                                   "assigned 指派给我、supervised 督办、approvals 待审核、"
                                                   "visits_due 五必访待访、behind 落后于巡查计划")
    limit: int = Field(20, ge=1, le=200, description="每个分区的条数")
    offset: int = Field(0, ge=0, le=100_000, description="每个分区的起始位置")


class InboxResponse(BaseModel):
    total: int
    sections: list[dict[str, Any]]


class InboxCount(BaseModel):
    total: int
    sections: dict[str, int]


def _settings() -> dict[str, Any]:
    settings = current_app.config["GRIDMAP"]
    return {"rules": settings.patrol, "radius_m": settings.patrol.place_radius_m}


@operation(bp, "/inbox", "GET", summary="待办：指派给我、即将到期、已超期、督办、待审核、五必访待访、巡查落后",
           tag="inbox", scope=AREA_OWN_CONTACTS, query=InboxQuery, response=InboxResponse)
def inbox(scope, query: InboxQuery):
    return service.inbox(get_session(), scope, limit=query.limit, offset=query.offset, section=query.section,
                         **_settings())


@operation(bp, "/inbox/count", "GET", summary="待办条数（顶栏角标轮询）", tag="inbox", scope=AREA_OWN_CONTACTS,
           response=InboxCount)
def inbox_count(scope):
    return service.counts(get_session(), scope, **_settings())
