"""The top navigation: the pages each role can use, in the order they use them."""

from __future__ import annotations

from flask import current_app, url_for

from gridmap.auth.roles import ADMIN, DEPARTMENT, GRID_ROLES, GRID_WORKER, PARTY_MEMBER, PLANNER, SUPERVISOR
from gridmap.labels import label


def navigation(user) -> list[tuple[str, str]]:
    """(label, url) pairs for ``user``'s role; every link opens for that role."""
    if user is None:
        return []
    role, scope = user.role, user.scope_code
    links: list[tuple[str, str]] = []

    def link(name: str, endpoint: str, **values: str) -> None:
        links.append((label(name, "nav"), url_for(endpoint, **values)))

    if role in (ADMIN, SUPERVISOR, PLANNER):
        link("area_map", "overview_pages.area_map", code=scope or "all")
    if role in (GRID_WORKER, PARTY_MEMBER) and scope:
        link("grid_map", "grid_sheet_pages.grid_map", code=scope)
    if role == GRID_WORKER:
        link("patrol", "patrol_pages.patrol")
    if role == PARTY_MEMBER:
        link("party_visits", "party_pages.visits_page")
    if role in (ADMIN, SUPERVISOR, GRID_WORKER):
        link("hazard_queue", "hazard_pages.queue")
        link("hazard_new", "hazard_pages.new")
        link("patrol_map", "patrol_pages.patrol_map")
    if role in (ADMIN, SUPERVISOR):
        link("heatmap", "hazard_stats_pages.heatmap_page")
        link("safety_report", "hazard_stats_pages.safety_report_page")
        link("patrol_plans", "patrol_plan_pages.plans_page")
        link("household_approvals", "household_pages.approvals_page")
        link("department_routes", "department_pages.routes")
    if role == PLANNER and len(scope) == 12:
        link("planner", "planning_pages.editor", code=scope)
    if role == DEPARTMENT:
        link("department_queue", "department_pages.queue")
    if role == ADMIN:
        link("audit_log", "accounts_pages.audit_log")
    return links


def inbox_badge(user) -> dict[str, object] | None:
    """The top bar's 待办 badge for a logged-in user: the inbox page, the count it polls
    (static/js/inbox-badge.js) and every how many seconds (``GRIDMAP_INBOX_POLL_S``)."""
    if user is None or user.role not in GRID_ROLES:  # a department's work waits on /department
        return None
    return {"page": url_for("inbox_pages.inbox_page"), "count": url_for("inbox_api.inbox_count"),
            "poll_s": current_app.config["GRIDMAP"].inbox_poll_s}
