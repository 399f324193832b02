"""Party members' monthly visits to their contact households (走访).

A party member logs a visit to one of the households they look after — when (the phone's
clock), a note and where the phone was — under the phone's UUID: a re-sent visit answers the
stored one and writes nothing. A household that is not the member's contact is answered as
one that does not exist (404), whatever grid it lies in. Grid workers and supervisors list the
visits to households of their area (masked as every household read); a party member their own.

Months are Beijing calendar months (gridmap.clock). A grid's visit coverage in a month is the
share of its contact households (a party_contact row, the household in the grid) visited at
least once in the month, by anyone; ``households_due`` lists those not yet visited.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth import audit
from gridmap.auth.masking import household_person, sees_unmasked
from gridmap.auth.scope import Scope
from gridmap.clock import as_local, month_bounds, this_month, today
from gridmap.clock import now as clock_now
from gridmap.coordinates import point_to_wgs84
from gridmap.db import transaction
from gridmap.errors import Conflict, NotFound, Unprocessable
from gridmap.party.service import member_households

# A phone's clock may run a little ahead of the server's; a visit later than this is refused.
FUTURE_SLACK = timedelta(minutes=10)

_STORED_SQL = text("""
SELECT v.id, v.client_id, v.party_member_id, v.visited_at, v.received_at, v.note, v.accuracy_m,
       ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat, h.code AS household, g.code AS grid
FROM party_visit v JOIN household h ON h.id = v.household_id LEFT JOIN grid g ON g.id = h.grid_id
WHERE v.client_id = :client_id
""")

_CONTACT_SQL = text("""
SELECT h.id FROM household h JOIN party_contact pc ON pc.household_id = h.id
WHERE h.code = :code AND pc.party_member_id = :member
""")

_INSERT_SQL = text("""
INSERT INTO party_visit (client_id, household_id, party_member_id, user_id, visited_at, note, geom, accuracy_m)
VALUES (:client_id, :household_id, :member, :user_id, :visited_at, :note,
        CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END, :accuracy_m)
ON CONFLICT (client_id) DO NOTHING
RETURNING id
""")


def _iso(moment: datetime | None) -> str | None:
    return as_local(moment).isoformat() if moment is not None else None


def _visit_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "client_id": str(row.client_id), "household": row.household, "grid": row.grid,
            "visited_at": _iso(row.visited_at), "received_at": _iso(row.received_at), "note": row.note,
            "lon": row.lon, "lat": row.lat, "accuracy_m": row.accuracy_m}


def _stored(session: Session, scope: Scope, client_id: uuid.UUID) -> dict[str, Any] | None:
    """The visit stored under ``client_id`` when it is the caller's; 409 when another's."""
    row = session.execute(_STORED_SQL, {"client_id": client_id}).first()
    if row is None:
        return None
    if row.party_member_id != scope.party_member_id:
        raise Conflict("visit_id_taken", details={"client_id": str(client_id)}, id=str(client_id))
    return _visit_json(row)


def record_visit(session: Session, scope: Scope, *, client_id: uuid.UUID, household_code: str, note: str,
                 visited_at: datetime, lon: float | None = None, lat: float | None = None, crs: str | None = None,
                 accuracy_m: float | None = None, now: datetime | None = None) -> tuple[dict[str, Any], bool]:
    """Store a visit of the caller (a party member) to their contact ``household_code``; returns the
    visit and whether it is new (False: the same ``client_id`` was stored before, nothing written)."""
    stored = _stored(session, scope, client_id)
    if stored is not None:
        return stored, False
    household_id = session.scalar(_CONTACT_SQL, {"code": household_code, "member": scope.party_member_id})
    if household_id is None or scope.party_member_id is None:
        raise NotFound("household_not_found", code=household_code)
    if visited_at > (now or clock_now()) + FUTURE_SLACK:
        raise Unprocessable("visit_in_future", details={"recorded_at": visited_at.isoformat()})
    if lon is not None and lat is not None:
        lon, lat = point_to_wgs84(lon, lat, crs)
    with transaction(session):
        inserted = session.scalar(_INSERT_SQL, {
            "client_id": client_id, "household_id": household_id, "member": scope.party_member_id,
            "user_id": scope.user_id, "visited_at": visited_at, "note": note, "lon": lon, "lat": lat,
            "accuracy_m": accuracy_m})
    stored = _stored(session, scope, client_id)  # a concurrent sender of the same id may have won
    return stored, inserted is not None


# --- lists ----------------------------------------------------------------------------

_LIST_FROM = """
FROM party_visit v
JOIN household h ON h.id = v.household_id
JOIN party_member pm ON pm.id = v.party_member_id
LEFT JOIN grid g ON g.id = h.grid_id
WHERE {where}
"""


def _conditions(scope: Scope, *, within: str | None, month: date | None, member_id: int | None,
                household: str | None) -> tuple[str, dict[str, Any]] | None:
    """The list's WHERE and its parameters, or None when the caller's area holds nothing asked for."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return None
    where, params = ["TRUE"], {}
    if scope.is_party_member:
        where.append("v.party_member_id = :me")
        params["me"] = scope.party_member_id
    elif pattern != "%":
        where.append("g.code LIKE :pattern")
        params["pattern"] = pattern
    if scope.is_party_member and within:
        where.append("g.code LIKE :pattern")
        params["pattern"] = within + "%"
    if month is not None:
        params["start"], params["end"] = month_bounds(month)
        where.append("v.visited_at >= :start AND v.visited_at < :end")
    if member_id is not None:
        where.append("v.party_member_id = :member")
        params["member"] = member_id
    if household:
        where.append("h.code = :household")
        params["household"] = household
    return " AND ".join(where), params


def list_visits(session: Session, scope: Scope, *, within: str | None = None, month: date | None = None,
                member_id: int | None = None, household: str | None = None, unmask: bool = False,
                limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Visits to households of the caller's area (a party member: their own), newest first; the
    household's head and phone masked as the caller may see them, unmasked reads audited."""
    unmasked = sees_unmasked(scope, unmask)
    found = _conditions(scope, within=within, month=month, member_id=member_id, household=household)
    if found is None:
        return {"items": [], "total": 0, "masked": not unmasked}
    where, params = found
    sql = _LIST_FROM.format(where=where)
    total = session.scalar(text("SELECT count(*) " + sql), params)
    rows = session.execute(text(
        "SELECT v.id, v.client_id, v.visited_at, v.received_at, v.note, v.accuracy_m, ST_X(v.geom) AS lon, "
        "ST_Y(v.geom) AS lat, h.code AS household, h.address, h.tags, h.head_name, h.phone, h.risk_level, "
        "g.code AS grid, pm.id AS member_id, pm.name AS member_name, EXISTS (SELECT 1 FROM party_contact pc "
        "WHERE pc.household_id = h.id AND pc.party_member_id = v.party_member_id) AS contact " + sql
        + " ORDER BY v.visited_at DESC, v.id DESC LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset}).all()
    items, shown = [], set()
    for r in rows:
        # A party member sees a household's person only while it is still theirs to look after.
        open_row = unmasked and (r.contact or not scope.is_party_member)
        person = household_person(r.tags, r.head_name, r.phone, r.risk_level, unmasked=open_row)
        items.append({**_visit_json(r), "address": r.address, "head_name": person["head_name"],
                      "phone": person["phone"], "member": {"id": r.member_id, "name": r.member_name}})
        if open_row:
            shown.add(r.household)
    shown = sorted(shown)
    if unmasked and shown:
        with transaction(session):
            audit.record(session, scope, "read_unmasked", "party_visits", within or scope.prefix or "all",
                         {"households": shown, "count": len(shown)})
    return {"items": items, "total": int(total or 0), "masked": not unmasked}


def last_visits(session: Session, household_codes: list[str]) -> dict[str, dict[str, str]]:
    """Each household's last visit: its Beijing day (YYYY-MM-DD) and note; households never visited left out."""
    if not household_codes:
        return {}
    rows = session.execute(text("""
        SELECT DISTINCT ON (h.code) h.code, v.visited_at, v.note
        FROM household h JOIN party_visit v ON v.household_id = h.id
        WHERE h.code = ANY(:codes)
        ORDER BY h.code, v.visited_at DESC, v.id DESC"""), {"codes": household_codes}).all()
    return {code: {"day": as_local(at).date().isoformat(), "note": note} for code, at, note in rows}


# --- what is due, and the month's coverage ------------------------------------------------

_DUE_SQL = """
SELECT h.code, h.address, g.code AS grid, pm.id AS member_id, pm.name AS member_name,
       (SELECT max(v.visited_at) FROM party_visit v WHERE v.household_id = h.id AND v.visited_at < :end) AS last
FROM party_contact pc
JOIN household h ON h.id = pc.household_id
JOIN party_member pm ON pm.id = pc.party_member_id
LEFT JOIN grid g ON g.id = h.grid_id
WHERE {where}
  AND NOT EXISTS (SELECT 1 FROM party_visit v WHERE v.household_id = h.id
                  AND v.visited_at >= :start AND v.visited_at < :end)
ORDER BY g.code, h.address, h.code
"""


def households_due(session: Session, scope: Scope, *, member_id: int | None = None, grid_code: str | None = None,
                   month: date | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """Contact households not yet visited in ``month`` (this Beijing month by default): a party
    member's own, or those of the caller's area, narrowed to one member or one grid. Plain data
    (code, address, grid, member, last visit day before the month's end) for the inbox."""
    start, end = month_bounds(month or this_month(today(now)))
    params: dict[str, Any] = {"start": start, "end": end}
    where = []
    if scope.is_party_member:
        where.append("pc.party_member_id = :me")
        params["me"] = scope.party_member_id
    else:
        pattern = scope.like_pattern(grid_code)
        if pattern is None:
            return []
        where.append("g.code LIKE :pattern")
        params["pattern"] = pattern
    if grid_code:
        where.append("g.code = :grid")
        params["grid"] = grid_code
    if member_id is not None:
        where.append("pc.party_member_id = :member")
        params["member"] = member_id
    rows = session.execute(text(_DUE_SQL.format(where=" AND ".join(where))), params).all()
    return [{"code": r.code, "address": r.address, "grid": r.grid,
             "member": {"id": r.member_id, "name": r.member_name},
             "last_visit": as_local(r.last).date().isoformat() if r.last else None} for r in rows]


_COVERAGE_SQL = text("""
SELECT g.code, count(*) AS contacts,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM party_visit v WHERE v.household_id = h.id
                                      AND v.visited_at >= :start AND v.visited_at < :end)) AS visited
FROM grid g
JOIN household h ON h.grid_id = g.id
JOIN party_contact pc ON pc.household_id = h.id
WHERE g.code LIKE :pattern
GROUP BY g.code
""")


def contact_coverage(session: Session, scope: Scope, *, within: str | None, month: date,
                     until: datetime | None = None) -> list[dict[str, Any]]:
    """Per grid of the area with contact households: how many there are and how many were visited
    at least once in the Beijing ``month``. Grids without contact households are not listed."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return []
    start, end = month_bounds(month)
    end = min(end, until) if until else end  # the month so far, up to ``until``
    rows = session.execute(_COVERAGE_SQL, {"pattern": pattern, "start": start, "end": end}).all()
    return [{"code": code, "contacts": contacts, "visited": visited} for code, contacts, visited in rows]


def member_contacts(session: Session, scope: Scope, *, now: datetime | None = None) -> dict[str, Any]:
    """The phone page's list: a party member's contact households (as party.service shows them:
    masked by role, unmasked reads audited), each with its last visit's day and note and whether
    it was visited this month."""
    listing = member_households(session, scope, scope.party_member_id)
    codes = [i["code"] for i in listing["items"]]
    last = last_visits(session, codes)
    due = {d["code"] for d in households_due(session, scope, now=now)}
    items = [{**i, "last_visit": last.get(i["code"], {}).get("day"), "last_note": last.get(i["code"], {}).get("note"),
              "visited_this_month": i["code"] not in due} for i in listing["items"]]
    return {**listing, "items": items, "due": sum(1 for i in items if not i["visited_this_month"])}
