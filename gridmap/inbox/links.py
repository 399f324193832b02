"""Where each inbox item is handled: the page a click on it opens."""

from __future__ import annotations

from flask import url_for

from gridmap.auth.roles import ADMIN, GRID_WORKER, SUPERVISOR


def hazard(hazard_id: int) -> str:
    return url_for("hazard_pages.detail", hazard_id=hazard_id)


def approval(grid_code: str) -> str:
    """The approvals page, narrowed to the household's grid."""
    return url_for("household_pages.approvals_page", within=grid_code)


def visit(role: str) -> str:
    """A grid worker's visit is a check-in naming the household; a party member logs a 走访."""
    return url_for("patrol_pages.patrol") if role == GRID_WORKER else url_for("party_pages.visits_page")


def behind(role: str) -> str:
    """Supervisors set the plans and see each grid's progress; a grid worker sees the patrol map."""
    if role in (ADMIN, SUPERVISOR):
        return url_for("patrol_plan_pages.plans_page")
    return url_for("patrol_pages.patrol_map")
