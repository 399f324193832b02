"""The top navigation: the pages each role can use, in the order they use them."""

from __future__ import annotations

from flask import url_for

from gridmap.auth.roles import ADMIN, GRID_WORKER, PARTY_MEMBER, PLANNER, SUPERVISOR


def navigation(user) -> list[tuple[str, str]]:
    """(label, url) pairs for ``user``'s role; every link opens for that role."""
    if user is None:
        return []
    role, scope = user.role, user.scope_code
    links: list[tuple[str, str]] = []
    if role in (ADMIN, SUPERVISOR, PLANNER):
        links.append(("网格总览", url_for("map_pages.area_map", code=scope or "all")))
    if role in (GRID_WORKER, PARTY_MEMBER) and scope:
        links.append(("民情地图", url_for("grid_pages.grid_map", code=scope)))
    if role == GRID_WORKER:
        links.append(("巡查打卡", url_for("patrol_pages.patrol")))
    if role in (ADMIN, SUPERVISOR, GRID_WORKER):
        links += [("问题工单", url_for("hazard_pages.queue")), ("上报问题", url_for("hazard_pages.new")),
                  ("巡查轨迹", url_for("patrol_pages.patrol_map"))]
    if role in (ADMIN, SUPERVISOR):
        links += [("问题热力图", url_for("hazard_stats_pages.heatmap_page")), ("平安报表", url_for("hazard_stats_pages.safety_report_page"))]
    if role == PLANNER and len(scope) == 12:
        links.append(("网格规划", url_for("planning_pages.editor", code=scope)))
    if role == ADMIN:
        links.append(("审计日志", url_for("auth_pages.audit_log")))
    return links
