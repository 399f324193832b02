"""The grid as it stands, frozen for a handover: households by category (tag), open hazards,
visits behind plan (五必访 households and party contact households not visited this Beijing
month), the party members' contact lists and the staff list. Plain JSON-ready data, unmasked
(masked per viewer when shown: gridmap.handover.view). Read with its own SQL so the handover
room needs nothing of the party room, which calls it when a grid's staff change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.masking import SENSITIVE_TAGS
from gridmap.clock import as_local, month_bounds, this_month, today
from gridmap.hazards.models import OPEN_STATUSES

HAZARDS_MAX = 500  # the snapshot's lists are bounded: a grid has a few hundred households

_GRID = text("""
SELECT g.id, g.code, g.name, coalesce(c.name, '') AS community,
       (SELECT count(*) FROM household h WHERE h.grid_id = g.id) AS households,
       (SELECT count(*) FROM household h WHERE h.grid_id = g.id AND h.tags && CAST(:sensitive AS text[])) AS flagged
FROM grid g LEFT JOIN admin_unit c ON c.code = left(g.code, 12)
WHERE g.code = :code
""")
_TAGS = text("""
SELECT t.tag, count(*) AS n FROM household h, unnest(h.tags) AS t(tag)
WHERE h.grid_id = :grid_id GROUP BY t.tag ORDER BY count(*) DESC, t.tag
""")
_HAZARDS = text("""
SELECT h.code, coalesce(c.name, h.category_code) AS category, h.severity, h.status, h.description,
       h.created_at, h.resolve_by, count(*) OVER () AS total
FROM hazard h LEFT JOIN hazard_category c ON c.code = h.category_code
WHERE h.grid_code = :code AND h.status = ANY(:open)
ORDER BY h.created_at LIMIT :limit
""")
_VISITS_DUE = text("""
SELECT h.code, h.address, h.head_name, h.phone,
       ARRAY(SELECT unnest(h.tags) INTERSECT SELECT unnest(CAST(:tags AS text[])) ORDER BY 1) AS tags
FROM household h
WHERE h.grid_id = :grid_id AND h.tags && CAST(:tags AS text[])
  AND NOT EXISTS (SELECT 1 FROM checkin c WHERE c.household_id = h.id
                  AND c.recorded_at >= :start AND c.recorded_at < :end)
ORDER BY h.address, h.code
""")
_CONTACTS = text("""
SELECT pm.id AS member_id, pm.name AS member_name, pm.phone AS member_phone,
       h.code, h.address, h.head_name, h.phone,
       EXISTS (SELECT 1 FROM party_visit v WHERE v.household_id = h.id
               AND v.visited_at >= :start AND v.visited_at < :end) AS visited
FROM party_member pm
LEFT JOIN party_contact pc ON pc.party_member_id = pm.id
LEFT JOIN household h ON h.id = pc.household_id
WHERE pm.grid_id = :grid_id
ORDER BY pm.name, pm.id, h.address, h.code
""")
_STAFF = text("""
SELECT s.role, s.name, s.phone FROM grid_staff s JOIN grid g ON g.id = s.grid_id
WHERE g.code = :code ORDER BY s.sort_order, s.id
""")


def grid_exists(session: Session, grid_code: str) -> bool:
    return session.execute(text("SELECT 1 FROM grid WHERE code = :code"), {"code": grid_code}).first() is not None


def staff_of(session: Session, grid_code: str) -> list[dict[str, Any]]:
    """The grid's staff list as stored (role, name, phone)."""
    return [dict(r._mapping) for r in session.execute(_STAFF, {"code": grid_code})]


def workers(staff: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """The grid workers (网格员) of a staff list: who hands over and who takes over."""
    return [(s["name"], s.get("phone")) for s in staff if s["role"] == "grid_worker"]


def _day(moment: datetime | None) -> str | None:
    return as_local(moment).strftime("%Y-%m-%d %H:%M") if moment else None


def take(session: Session, grid_code: str, *, visit_tags: tuple[str, ...] | list[str],
         staff_before: list[dict[str, Any]], staff_after: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The snapshot of ``grid_code`` at ``now`` (the caller has checked its scope)."""
    grid = session.execute(_GRID, {"code": grid_code, "sensitive": sorted(SENSITIVE_TAGS)}).one()
    start, end = month_bounds(this_month(today(now)))
    rows = session.execute(_HAZARDS, {"code": grid_code, "open": list(OPEN_STATUSES), "limit": HAZARDS_MAX}).all()
    hazards = [{"code": r.code, "category": r.category, "severity": r.severity, "status": r.status,
                "description": r.description, "reported_at": _day(r.created_at), "resolve_by": _day(r.resolve_by),
                "overdue": r.resolve_by is not None and r.resolve_by < now}
               for r in rows]
    due = [dict(r._mapping) for r in session.execute(
        _VISITS_DUE, {"grid_id": grid.id, "tags": list(visit_tags), "start": start, "end": end})]
    members: dict[int, dict[str, Any]] = {}
    for r in session.execute(_CONTACTS, {"grid_id": grid.id, "start": start, "end": end}):
        member = members.setdefault(r.member_id, {"name": r.member_name, "phone": r.member_phone, "households": []})
        if r.code is not None:
            member["households"].append({"code": r.code, "address": r.address, "head_name": r.head_name,
                                         "phone": r.phone, "visited": r.visited})
    return {
        "taken_at": _day(now), "month": f"{start:%Y-%m}",
        "grid": {"code": grid.code, "name": grid.name, "community": grid.community},
        "households": {"total": grid.households, "flagged": grid.flagged,
                       "by_tag": {tag: n for tag, n in session.execute(_TAGS, {"grid_id": grid.id})}},
        "open_hazards": hazards,
        "open_hazards_total": rows[0].total if rows else 0,  # the list stops at HAZARDS_MAX
        "visits_due": due,
        "contacts_due": [{"member": m["name"], **h} for m in members.values() for h in m["households"]
                         if not h["visited"]],
        "contacts": list(members.values()),
        "staff_before": staff_before, "staff_after": staff_after,
    }
