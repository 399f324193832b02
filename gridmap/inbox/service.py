"""The inbox (待办): per role, the sections of what waits for the caller, each item with a kind,
a title and summary from the catalogues, the page where it is handled and a moment; and the
sections' counts for the top bar's badge.

Sections by role (``SECTIONS``): hazards overdue in the caller's area (a supervisor's area, a
grid worker's grid), the caller's own hazards due within 24 hours and the rest assigned to them,
督办 notes about those (gridmap.inbox.hazard_sections); household changes waiting for a
supervisor's approval; households due a 五必访 visit this month — a grid worker's grid's
households with a visit tag and no check-in naming them, a party member's contact households not
visited (gridmap.party.visits.households_due); and grids and key places behind patrol plan
(gridmap.patrol_plan.service.inbox_behind). One query per section; the count is one query per
kind of section, none of them reading an item's text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gridmap import clock
from gridmap.auth import audit
from gridmap.auth.masking import SENSITIVE_TAGS, sees_unmasked, visit_tags_shown
from gridmap.auth.roles import ADMIN, GRID_WORKER, PARTY_MEMBER, PLANNER, SUPERVISOR
from gridmap.auth.scope import Scope
from gridmap.config import PatrolRules
from gridmap.db import transaction
from gridmap.inbox import hazard_sections, household_sections, links
from gridmap.labels import label
from gridmap.messages import message
from gridmap.party.visits import households_due
from gridmap.patrol_plan.service import behind as plan_behind
from gridmap.patrol_plan.service import inbox_behind

_HAZARDS = ("overdue", "due_soon", "assigned", "supervised")
SECTIONS: dict[str, tuple[str, ...]] = {
    ADMIN: (*_HAZARDS, "approvals", "behind"),
    SUPERVISOR: (*_HAZARDS, "approvals", "behind"),
    GRID_WORKER: (*_HAZARDS, "visits_due", "behind"),
    PARTY_MEMBER: ("visits_due",),
    PLANNER: (),
}
KINDS = ("overdue", "due_soon", "assigned", "supervised", "approvals", "visits_due", "behind")


def _iso(moment: datetime | None) -> str | None:
    return clock.as_local(moment).isoformat() if moment is not None else None


def _hazard_item(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    title = message(f"inbox_{kind}_title", category=row["category_name"], code=row["code"], by=row.get("actor") or "")
    item = {"kind": kind, "id": f"hazard-{row['id']}", "hazard_id": row["id"], "code": row["code"],
            "status": row["status"], "status_name": label(row["status"], "hazard_status"), "grid": row["grid_code"],
            "title": title, "summary": row["description"], "link": links.hazard(row["id"])}
    if kind == "supervised":
        item.update(id=f"supervise-{row['event_id']}", note=row["note"], by=row["actor"], summary=row["note"],
                    at=_iso(row["at"]))
    else:
        item.update(deadline=_iso(row["deadline"]), at=_iso(row["deadline"]))
    return item


def _approval_item(row: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "approvals", "id": f"change-{row['id']}", "change_id": row["id"], "household": row["household"],
            "address": row["address"], "grid": row["grid_code"], "author": row["author_name"],
            "title": message("inbox_approvals_title", household=row["household"]),
            "summary": message("inbox_approvals_summary", author=row["author_name"] or "", address=row["address"]),
            "link": links.approval(row["grid_code"]), "at": _iso(row["at"])}


def _visit_item(role: str, row: dict[str, Any], month_start: datetime) -> dict[str, Any]:
    last = row["last_visit"]
    return {"kind": "visits_due", "id": f"household-{row['code']}", "household": row["code"],
            "address": row["address"], "grid": row["grid"], "visit_tags": row.get("visit_tags", []),
            "last_visit": last, "title": message("inbox_visits_due_title", address=row["address"]),
            "summary": message("inbox_visit_last", day=last) if last else message("inbox_visit_never"),
            "link": links.visit(role), "at": _iso(month_start)}


def _behind_item(role: str, row: dict[str, Any]) -> dict[str, Any]:
    place = row.get("place_name")
    title = (message("inbox_behind_place_title", place=place, grid=row["grid_name"]) if row["subject"] == "place"
             else message("inbox_behind_grid_title", grid=row["grid_name"]))
    return {"kind": "behind", "id": f"plan-{row['subject']}-{row['grid']}-{row.get('place_id') or ''}",
            "subject": row["subject"], "grid": row["grid"], "grid_name": row["grid_name"], "place_name": place,
            "period": row["period"], "required": row["required"], "done": row["done"], "title": title,
            "summary": message("inbox_behind_summary", period=label(row["period"], "plan_period"),
                               required=row["required"], done=row["done"]),
            "link": links.behind(role), "at": row["period_start"]}


def _section(session: Session, scope: Scope, kind: str, *, rules: PatrolRules, radius_m: float, limit: int,
             offset: int, now: datetime) -> tuple[list[dict[str, Any]], int]:
    if kind in ("overdue", "due_soon", "assigned"):
        rows, total = hazard_sections.deadline_section(session, scope, kind, now=now, limit=limit, offset=offset)
        return [_hazard_item(kind, r) for r in rows], total
    if kind == "supervised":
        rows, total = hazard_sections.supervised_section(session, scope, now=now, limit=limit, offset=offset)
        return [_hazard_item(kind, r) for r in rows], total
    if kind == "approvals":
        rows, total = household_sections.approvals(session, scope, limit=limit, offset=offset)
        return [_approval_item(r) for r in rows], total
    if kind == "behind":
        found = inbox_behind(session, scope, radius_m=radius_m, limit=limit, offset=offset, now=now)
        return [_behind_item(scope.role, r) for r in found["items"]], found["total"]
    return _visits(session, scope, rules=rules, limit=limit, offset=offset, now=now)


def _visits(session: Session, scope: Scope, *, rules: PatrolRules, limit: int, offset: int,
            now: datetime) -> tuple[list[dict[str, Any]], int]:
    bounds = clock.month_bounds(clock.this_month(clock.today(now)))
    if scope.is_party_member:
        due = households_due(session, scope, now=now)
        return [_visit_item(scope.role, r, bounds[0]) for r in due[offset:offset + limit]], len(due)
    tags = visit_tags_shown(rules.visit_tags, unmasked=sees_unmasked(scope, False))
    rows, total = household_sections.visits_due(session, scope, tags=tags, bounds=bounds, limit=limit, offset=offset)
    items = [_visit_item(scope.role, {**r, "last_visit": clock.as_local(r["last"]).date().isoformat()
                                      if r["last"] else None}, bounds[0]) for r in rows]
    sensitive = sorted({i["household"] for i in items if SENSITIVE_TAGS.intersection(i["visit_tags"])})
    if sensitive:  # a sensitive tag shown as it is: an unmasked read
        with transaction(session):
            audit.record(session, scope, "read_unmasked", "inbox_visits", scope.prefix, {"households": sensitive})
    return items, total


def inbox(session: Session, scope: Scope, *, rules: PatrolRules, radius_m: float, limit: int, section: str | None = None,
          offset: int = 0, now: datetime | None = None) -> dict[str, Any]:
    """The caller's sections (or the one named ``section``), each its first ``limit`` items from
    ``offset`` and its total; ``total`` sums the sections'. A section the role has not is empty."""
    now = now or clock.now()
    kinds = [k for k in SECTIONS.get(scope.role, ()) if section in (None, k)]
    sections = []
    for kind in kinds:
        items, total = _section(session, scope, kind, rules=rules, radius_m=radius_m, limit=limit, offset=offset,
                                now=now)
        sections.append({"kind": kind, "name": label(kind, "inbox_section"), "total": total, "items": items})
    return {"total": sum(s["total"] for s in sections), "sections": sections}


def counts(session: Session, scope: Scope, *, rules: PatrolRules, radius_m: float,
           now: datetime | None = None) -> dict[str, Any]:
    """What the badge shows: each of the caller's sections' total and their sum (as ``inbox`` counts)."""
    now = now or clock.now()
    kinds = SECTIONS.get(scope.role, ())
    found: dict[str, int] = {}
    if "overdue" in kinds:
        found.update(hazard_sections.hazard_counts(session, scope, now=now))
    if "approvals" in kinds:
        found["approvals"] = household_sections.approvals_count(session, scope)
    if "visits_due" in kinds:
        bounds = clock.month_bounds(clock.this_month(clock.today(now)))
        if scope.is_party_member:
            found["visits_due"] = len(households_due(session, scope, now=now))
        else:
            tags = visit_tags_shown(rules.visit_tags, unmasked=sees_unmasked(scope, False))
            found["visits_due"] = household_sections.visits_due_count(session, scope, tags=tags, bounds=bounds)
    if "behind" in kinds:
        found["behind"] = plan_behind(session, scope, radius_m=radius_m, limit=1, now=now)["total"]
    sections = {kind: found[kind] for kind in kinds}
    return {"total": sum(sections.values()), "sections": sections}
