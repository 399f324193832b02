"""Patrol plans: set, remove and list them within the caller's area, and what is behind plan.

A supervisor sets a plan at an area of theirs (a default below it), at a grid or at one key
place; what lies above their area they see, marked ``inherited``, and cannot change. Every
write is one transaction. ``behind`` and ``inbox_behind`` read the current period (Beijing
time) through gridmap.patrol_plan.status.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap import clock
from gridmap.auth.scope import Scope
from gridmap.db import transaction
from gridmap.errors import NotFound, Unprocessable
from gridmap.patrol_plan.models import PERIOD_DAYS
from gridmap.patrol_plan.status import plan_status

INBOX_LIMIT = 200

_TARGET_SQL = text("""
SELECT name FROM admin_unit WHERE code = :code
UNION ALL SELECT name FROM grid WHERE code = :code AND retired_at IS NULL
""")
_PLACE_SQL = text("SELECT kp.id FROM key_place kp JOIN grid g ON g.id = kp.grid_id WHERE kp.id = :id AND g.code = :code")

_UPSERT_AREA = text("""
INSERT INTO patrol_plan (subject, area_code, period, min_count, updated_by)
VALUES (:subject, :code, :period, :min_count, :author)
ON CONFLICT (subject, area_code) WHERE key_place_id IS NULL
DO UPDATE SET period = EXCLUDED.period, min_count = EXCLUDED.min_count, updated_by = EXCLUDED.updated_by,
              updated_at = now()
RETURNING id
""")
_UPSERT_PLACE = text("""
INSERT INTO patrol_plan (subject, area_code, key_place_id, period, min_count, updated_by)
VALUES ('place', :code, :place_id, :period, :min_count, :author)
ON CONFLICT (key_place_id) WHERE key_place_id IS NOT NULL
DO UPDATE SET area_code = EXCLUDED.area_code, period = EXCLUDED.period, min_count = EXCLUDED.min_count,
              updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING id
""")

_LIST_SQL = text("""
SELECT p.id, p.subject, p.area_code, p.key_place_id, p.period, p.min_count, p.updated_by, p.updated_at,
       coalesce(u.name, g.name) AS area_name, kp.name AS place_name, count(*) OVER () AS total
FROM patrol_plan p
LEFT JOIN admin_unit u ON u.code = p.area_code
LEFT JOIN grid g ON g.code = p.area_code
LEFT JOIN key_place kp ON kp.id = p.key_place_id
WHERE p.area_code LIKE :pattern OR starts_with(:prefix, p.area_code)
ORDER BY length(p.area_code), p.area_code, p.subject, p.key_place_id NULLS FIRST
LIMIT :limit OFFSET :offset
""")


def set_plan(session: Session, scope: Scope, fields: dict[str, Any]) -> dict[str, Any]:
    """Create or replace the plan of (subject, code) or of one key place; 404 for a code or place
    outside the caller's area, 422 for a count the period cannot hold."""
    code, place_id, period, count = fields["code"], fields.get("place_id"), fields["period"], fields["min_count"]
    scope.require(code, "area_not_found")
    if session.execute(_TARGET_SQL, {"code": code}).first() is None:
        raise NotFound("area_not_found", code=code)
    if place_id is not None:
        if fields["subject"] != "place":
            raise Unprocessable("patrol_plan_place_subject", details={"subject": fields["subject"]})
        if len(code) != 15 or session.execute(_PLACE_SQL, {"id": place_id, "code": code}).first() is None:
            raise NotFound("key_place_not_found", id=place_id)
    if count > PERIOD_DAYS[period]:
        raise Unprocessable("patrol_plan_count_too_high", details={"period": period, "max": PERIOD_DAYS[period]},
                            days=PERIOD_DAYS[period], count=count)
    params = {"subject": fields["subject"], "code": code, "place_id": place_id, "period": period,
              "min_count": count, "author": scope.username}
    with transaction(session):
        plan_id = session.execute(_UPSERT_PLACE if place_id is not None else _UPSERT_AREA, params).scalar_one()
    return _one(session, scope, plan_id)


def delete_plan(session: Session, scope: Scope, plan_id: int) -> dict[str, Any]:
    """Remove a plan of the caller's area: what it covered inherits again."""
    area_code = session.scalar(text("SELECT area_code FROM patrol_plan WHERE id = :id"), {"id": plan_id})
    scope.require(area_code, "patrol_plan_not_found", id=plan_id)
    with transaction(session):
        session.execute(text("DELETE FROM patrol_plan WHERE id = :id"), {"id": plan_id})
    return {"id": plan_id, "removed": True}


def list_plans(session: Session, scope: Scope, *, within: str | None = None, limit: int = 100,
               offset: int = 0) -> dict[str, Any]:
    """The plans set in the area (``within`` narrows it) and those set above it that it inherits
    (``inherited: true``, not the caller's to change), from the widest down."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return {"items": [], "total": 0}
    rows = session.execute(_LIST_SQL, {"pattern": pattern, "prefix": scope.narrow(within), "limit": limit,
                                       "offset": offset}).mappings().all()
    items = [{"id": r["id"], "subject": r["subject"], "code": r["area_code"], "area_name": r["area_name"],
              "place_id": r["key_place_id"], "place_name": r["place_name"], "period": r["period"],
              "min_count": r["min_count"], "updated_by": r["updated_by"],
              "updated_at": clock.as_local(r["updated_at"]).isoformat(),
              "inherited": not scope.covers(r["area_code"])} for r in rows]
    return {"items": items, "total": int(rows[0]["total"]) if rows else 0}


def _one(session: Session, scope: Scope, plan_id: int) -> dict[str, Any]:
    code = session.scalar(text("SELECT area_code FROM patrol_plan WHERE id = :id"), {"id": plan_id})
    rows = list_plans(session, scope, within=code, limit=1000)["items"]
    return next(item for item in rows if item["id"] == plan_id)


def behind(session: Session, scope: Scope, *, radius_m: float, within: str | None = None, subject: str = "",
           behind_only: bool = True, limit: int = 100, offset: int = 0,
           now: datetime | None = None) -> dict[str, Any]:
    """Grids and key places of the area (``within`` narrows it) behind plan in the current period:
    ``required`` and ``done`` days; ``behind_only=False`` lists every one with a plan."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return {"items": [], "total": 0}
    items, total = plan_status(session, pattern, now=now or clock.now(), radius_m=radius_m, subject=subject,
                               behind_only=behind_only, limit=limit, offset=offset)
    return {"items": items, "total": total}


def inbox_behind(session: Session, scope: Scope, *, radius_m: float, limit: int = INBOX_LIMIT, offset: int = 0,
                 now: datetime | None = None) -> dict[str, Any]:
    """For the inbox: what is behind plan now among this user's grids and places (a grid worker's
    grid and its places, a supervisor's area), most short first, a page of ``limit`` from ``offset``."""
    return behind(session, scope, radius_m=radius_m, limit=limit, offset=offset, now=now)


_TARGETS_SQL = text("""
SELECT 'area' AS kind, code, name, NULL::int AS place_id, level AS detail FROM admin_unit
WHERE code LIKE :pattern AND length(code) >= length(:prefix)
UNION ALL
SELECT 'grid', code, name, NULL, NULL FROM grid WHERE code LIKE :pattern AND retired_at IS NULL AND kind = 'map'
UNION ALL
SELECT 'place', g.code, kp.name, kp.id, kp.kind FROM key_place kp JOIN grid g ON g.id = kp.grid_id
WHERE g.code LIKE :pattern AND g.retired_at IS NULL
ORDER BY 1, 2, 4 NULLS FIRST
LIMIT :limit
""")


def plan_targets(session: Session, scope: Scope, *, within: str | None = None, limit: int = 5000) -> dict[str, list]:
    """What the caller may set a plan at: areas, grids and key places of the area, by code."""
    pattern = scope.like_pattern(within)
    found: dict[str, list] = {"area": [], "grid": [], "place": []}
    if pattern is None:
        return found
    for row in session.execute(_TARGETS_SQL, {"pattern": pattern, "prefix": scope.narrow(within),
                                              "limit": limit}).mappings():
        found[row["kind"]].append(dict(row))
    return found
