"""The inbox page (/inbox): everything waiting for the logged-in user, by section, each item a link
to the page where it is handled; the top bar's badge (static/js/inbox-badge.js) counts the same."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from pydantic import BaseModel, Field

from gridmap.auth.scope import AREA_OWN_CONTACTS
from gridmap.inbox import service
from gridmap.inbox.api import Kind
from gridmap.labels import label
from gridmap.messages import message
from gridmap.pages import page
from gridmap.web import get_session

bp = Blueprint("inbox_pages", __name__)

PAGE_ROWS = 50


class InboxPageQuery(BaseModel):
    section: Kind | None = Field(None, description="只看一个分区（“更多”链接）")
    offset: int = Field(0, ge=0, le=100_000, description="该分区的起始位置")


@page(bp, "/inbox", summary="待办（手机和电脑）", scope=AREA_OWN_CONTACTS, query=InboxPageQuery)
def inbox_page(user, scope, query: InboxPageQuery):
    """待办：指派给我的、24 小时内到期的、已超期的问题，督办意见，待审核的住户修改，本月五必访待访，
    落后于巡查计划的网格和场所；每条链接到处理它的页面。"""
    settings = current_app.config["GRIDMAP"]
    found = service.inbox(get_session(), scope, rules=settings.patrol, radius_m=settings.patrol.place_radius_m,
                          limit=PAGE_ROWS, offset=query.offset, section=query.section)
    return render_template("inbox.html", title=message("inbox_title"), user=user, role_name=label(user.role, "role"),
                           inbox=found, offset=query.offset, page_rows=PAGE_ROWS, one_section=query.section)
