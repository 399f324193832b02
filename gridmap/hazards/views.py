"""What the hazard pages and the 民情地图 show: the work queue, one hazard with whom it may be
assigned to, the report form's choices, and a grid's open hazards as a map layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridmap.areas.service import list_grids
from gridmap.auth.models import User
from gridmap.auth.scope import Scope
from gridmap.clock import now as clock_now
from gridmap.clock import today
from gridmap.hazards.calendar import FALLBACK
from gridmap.hazards.deadlines import fallback_years
from gridmap.hazards.models import OPEN_STATUSES, STATUSES, Hazard, HazardCategory
from gridmap.hazards.service import categories, get_hazard, iso, list_hazards, overdue_expr


def assignee_candidates(session: Session, grid_code: str) -> list[dict[str, Any]]:
    """Active staff whose scope covers the grid: its grid workers first, then supervisors by level."""
    rows = session.execute(
        select(User.username, User.display_name, User.role, User.scope_code)
        .where(User.active.is_(True), User.role.in_(("grid_worker", "supervisor")),
               func.strpos(grid_code, User.scope_code) == 1)
        .order_by(User.role, func.length(User.scope_code).desc(), User.username).limit(200)
    ).all()
    return [{"username": u, "name": n, "role": r, "scope": s} for u, n, r, s in rows]


def open_hazards_of_grid(session: Session, scope: Scope, grid_code: str, *, limit: int = 500,
                         now: datetime | None = None) -> dict[str, Any]:
    """The hazards of one grid not yet closed or rejected (verified ones still await closing),
    for a map layer: a GeoJSON FeatureCollection, overdue first, with codes (status, severity),
    the category's name, ``overdue`` and the resolve-by deadline (ISO, Beijing time); the map
    names the codes. Scoped: a grid outside the caller's scope yields no features."""
    now = now or clock_now()
    rows = session.execute(
        select(Hazard.code, Hazard.severity, Hazard.status, Hazard.description, Hazard.resolve_by,
               HazardCategory.name, func.ST_X(Hazard.geom), func.ST_Y(Hazard.geom), overdue_expr(now))
        .join(HazardCategory, HazardCategory.code == Hazard.category_code)
        .where(Hazard.grid_code == grid_code, scope.where(Hazard.grid_code), Hazard.status.not_in(("closed", "rejected")))
        .order_by(overdue_expr(now).desc(), Hazard.resolve_by, Hazard.id).limit(limit)
    ).all()
    features = [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"code": code, "category": category, "severity": severity, "status": status,
                       "description": description, "overdue": bool(overdue), "deadline": iso(resolve_by)},
    } for code, severity, status, description, resolve_by, category, lon, lat, overdue in rows]
    return {"type": "FeatureCollection", "features": features, "total": len(features)}


def work_queue(session: Session, scope: Scope, *, status: str, within: str | None, category: str | None,
               overdue: bool, resolution: str | None = None, sample: int | None = None,
               limit: int = 200) -> dict[str, Any]:
    """The work queue: ``status`` is "open" (every open status), "all" or one status; overdue
    first, then by the next deadline (or ``sample`` of them at random: a supervisor's 抽查). ``fallback_years``: the years of its deadlines (and this
    one) without an official holiday list."""
    statuses = list(OPEN_STATUSES) if status == "open" else ([status] if status in STATUSES else None)
    result = list_hazards(session, scope, within=within or None, statuses=statuses, category=category or None,
                          overdue=True if overdue else None, resolution=resolution or None, sample=sample,
                          limit=limit)
    items = [feature["properties"] for feature in result["features"]]
    years = {today().year} | {int(i["deadlines"]["resolve_by"][:4]) for i in items}
    return {"items": items, "total": result["total"], "categories": categories(session),
            "fallback_years": fallback_years(session, years)}


def hazard_page(session: Session, scope: Scope, hazard_id: int) -> dict[str, Any]:
    """A hazard with its timeline and photos, whom it may be assigned to (when the caller may
    assign it), and the years of its deadlines counted without an official holiday list."""
    hazard = get_hazard(session, scope, hazard_id)
    years = {int(hazard["deadlines"]["accept_by"][:4]), int(hazard["deadlines"]["resolve_by"][:4])}
    return {"hazard": hazard,
            "candidates": (assignee_candidates(session, hazard["grid"]["code"])
                           if "assign" in hazard["allowed_actions"] else []),
            "fallback_years": fallback_years(session, years) if hazard["calendar"] == FALLBACK else []}


def report_form(session: Session, scope: Scope) -> dict[str, Any]:
    """What the report form offers: the active categories and the outlines (code, name) of the
    grids in the caller's scope, a report's possible places."""
    grids = list_grids(session, scope, None, None, limit=2000, offset=0)
    outlines = [{"type": "Feature", "geometry": g["geometry"],
                 "properties": {"code": g["properties"]["code"], "name": g["properties"]["name"]}}
                for g in grids["features"] if g.get("geometry")]
    return {"categories": categories(session), "grids": {"type": "FeatureCollection", "features": outlines}}
