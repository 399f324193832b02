"""Party members, their contact lists (党员联系户) and what a grid's 民情地图 and contact
handbook show. Routes stay thin; this module owns the transactions and the SQL.

Contact lists: every household of a grid gets a party member of that grid within
walking distance, each member looking after at most ``max_per_member`` households;
the assignment is the optimal one (gridmap.party.optimizer), pinned pairs are kept as
they are and count against their member's capacity, and what cannot be covered is
listed. Contacts stay inside the member's grid: only a supervisor or an admin may give a
member a household of another grid, saying so (``cross_grid``), and such a contact counts
against the member's capacity too. Personal data of households is masked by role exactly
as in the household list (gridmap.auth.masking), and by the household's own grid: the
member's grid worker does not see another grid's household unmasked; a party member sees
only their own households.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gridmap.areas.models import AdminUnit, Grid
from gridmap.areas.service import grid_id_for
from gridmap.auth import audit
from gridmap.auth.masking import household_person, sees_unmasked
from gridmap.auth.roles import ADMIN, SUPERVISOR
from gridmap.auth.scope import Scope
from gridmap.clock import as_local
from gridmap.coordinates import point_to_wgs84
from gridmap.db import transaction
from gridmap.errors import Forbidden, NotFound, Unprocessable
from gridmap.households.models import Household
from gridmap.households.service import household_json
from gridmap.labels import label
from gridmap.party.models import STAFF_ROLES, GridStaff, PartyContact, PartyMember
from gridmap.party.optimizer import assign_contacts, haversine_matrix

DEFAULT_MAX_PER_MEMBER = 10

# Members of a grid with a position: their own point, else their household's.
_MEMBERS_SQL = """
SELECT pm.id, pm.name, ST_X(coalesce(pm.geom, h.geom)) AS lon, ST_Y(coalesce(pm.geom, h.geom)) AS lat
FROM party_member pm LEFT JOIN household h ON h.id = pm.household_id
WHERE pm.grid_id = :grid_id
ORDER BY pm.id
"""

_HOUSEHOLDS_SQL = """
SELECT h.id, h.code, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, pc.party_member_id, coalesce(pc.pinned, false)
FROM household h LEFT JOIN party_contact pc ON pc.household_id = h.id
WHERE h.grid_id = :grid_id
ORDER BY h.code
"""

# What a member already looks after that a re-run keeps: pinned pairs anywhere, and pairs in other grids.
_KEPT_COUNTS_SQL = """
SELECT pc.party_member_id, count(*) FROM party_contact pc JOIN household h ON h.id = pc.household_id
WHERE pc.party_member_id = ANY(:members) AND (pc.pinned OR h.grid_id IS DISTINCT FROM :grid_id)
GROUP BY pc.party_member_id
"""

_CLEAR_SQL = """
DELETE FROM party_contact pc USING household h
WHERE pc.household_id = h.id AND h.grid_id = :grid_id AND NOT pc.pinned
"""

_INSERT_SQL = """
INSERT INTO party_contact (household_id, party_member_id, pinned, needs_review)
SELECT u.household_id, u.member_id, false, false
FROM unnest(CAST(:households AS int[]), CAST(:members AS int[])) AS u(household_id, member_id)
"""


def _grid(session: Session, scope: Scope, code: str) -> Grid:
    grid_id = grid_id_for(session, scope, code)
    return session.get(Grid, grid_id)


def build_contact_lists(session: Session, scope: Scope, grid_code: str,
                        max_per_member: int = DEFAULT_MAX_PER_MEMBER) -> dict[str, Any]:
    """(Re)compute the contact lists of a grid; pinned pairs stay. See the module docstring."""
    grid = _grid(session, scope, grid_code)
    with transaction(session):
        return _contact_lists(session, grid.id, max_per_member)


def contact_lists_for_grids(session: Session, grid_ids: list[int],
                            max_per_member: int = DEFAULT_MAX_PER_MEMBER) -> int:
    """Compute the contact lists of many grids inside the caller's transaction (demo
    loader, bulk jobs); returns the number of households covered."""
    return sum(sum(len(m["households"]) for m in _contact_lists(session, grid_id, max_per_member)["members"])
               for grid_id in grid_ids)


def _contact_lists(session: Session, grid_id: int, max_per_member: int) -> dict[str, Any]:
    members = session.execute(text(_MEMBERS_SQL), {"grid_id": grid_id}).all()
    households = session.execute(text(_HOUSEHOLDS_SQL), {"grid_id": grid_id}).all()
    pinned = [h for h in households if h[5] and h[4] is not None]
    free = [h for h in households if not (h[5] and h[4] is not None)]
    placed = [m for m in members if m.lon is not None]
    kept = dict(session.execute(text(_KEPT_COUNTS_SQL), {"members": [m.id for m in placed], "grid_id": grid_id}).all())
    capacity = np.array([max(0, max_per_member - kept.get(m.id, 0)) for m in placed], dtype=np.int64)
    if free and placed:
        dist = haversine_matrix(np.array([h[2] for h in free]), np.array([h[3] for h in free]),
                                np.array([m.lon for m in placed]), np.array([m.lat for m in placed]))
        result = assign_contacts(dist, capacity)
        chosen = np.flatnonzero(result.member_of >= 0)
        new_pairs = [(free[i][0], placed[result.member_of[i]].id) for i in chosen]
    else:
        new_pairs = []
    session.execute(text(_CLEAR_SQL), {"grid_id": grid_id})
    session.execute(text(_INSERT_SQL), {"households": [p[0] for p in new_pairs],
                                        "members": [p[1] for p in new_pairs]})
    code_of = {h[0]: h[1] for h in households}
    lists: dict[int, list[str]] = {m.id: [] for m in members}
    for h in pinned:
        lists.setdefault(h[4], []).append(h[1])
    for household_id, member_id in new_pairs:
        lists[member_id].append(code_of[household_id])
    names = dict(session.execute(select(PartyMember.id, PartyMember.name)
                                 .where(PartyMember.id.in_(list(lists)))).all())
    covered = {h[1] for h in pinned} | {code_of[p[0]] for p in new_pairs}
    return {
        "members": [{"id": mid, "name": names.get(mid, ""), "households": sorted(codes)}
                    for mid, codes in sorted(lists.items())],
        "uncovered": sorted(c for c in code_of.values() if c not in covered),
        "max_per_member": max_per_member,
    }


# --- party members -------------------------------------------------------------------

def _member_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "phone": row.phone, "branch": row.branch,
            "lon": row.lon, "lat": row.lat, "grid": row.grid_code, "household": row.household_code,
            "households": int(row.households or 0)}


_MEMBER_SELECT = """
SELECT pm.id, pm.name, pm.phone, pm.branch,
       ST_X(coalesce(pm.geom, h.geom)) AS lon, ST_Y(coalesce(pm.geom, h.geom)) AS lat,
       g.code AS grid_code, h.code AS household_code,
       (SELECT count(*) FROM party_contact pc WHERE pc.party_member_id = pm.id) AS households
FROM party_member pm
LEFT JOIN grid g ON g.id = pm.grid_id
LEFT JOIN household h ON h.id = pm.household_id
"""


def _member_row(session: Session, scope: Scope, member_id: int) -> Any:
    """A party member the caller may see (404 otherwise): a party member sees only themself."""
    row = session.execute(text(_MEMBER_SELECT + " WHERE pm.id = :id"), {"id": member_id}).first()
    seen = row is not None and (row.id == scope.party_member_id if scope.is_party_member
                                else _covers(scope, row.grid_code))
    if not seen:
        raise NotFound("party_member_not_found", id=member_id)
    return row


def get_member(session: Session, scope: Scope, member_id: int) -> dict[str, Any]:
    return _member_json(_member_row(session, scope, member_id))


def grid_members(session: Session, scope: Scope, grid_code: str) -> dict[str, Any]:
    grid = _grid(session, scope, grid_code)
    condition = "pm.grid_id = :grid_id"
    params: dict[str, Any] = {"grid_id": grid.id}
    if scope.is_party_member:
        condition += " AND pm.id = :me"
        params["me"] = scope.party_member_id
    rows = session.execute(text(_MEMBER_SELECT + f" WHERE {condition} ORDER BY pm.id"), params).all()
    return {"items": [_member_json(r) for r in rows], "total": len(rows)}


def member_households(session: Session, scope: Scope, member_id: int, *, unmask: bool = False) -> dict[str, Any]:
    """The households one party member looks after, masked by role; unmasked reads audited."""
    member = _member_row(session, scope, member_id)
    unmasked = sees_unmasked(scope, unmask)
    rows = session.execute(
        select(Household, Household.geom.ST_X(), Household.geom.ST_Y(), PartyContact.pinned, Grid.code)
        .join(PartyContact, PartyContact.household_id == Household.id)
        .outerjoin(Grid, Grid.id == Household.grid_id)
        .where(PartyContact.party_member_id == member_id)
        .order_by(Household.address, Household.code)
    ).all()
    # Masking follows each household's grid: a contact in another grid (cross_grid) is unmasked only
    # for a viewer whose area covers that grid, or for the party member themself.
    items = [{**household_json(h, lon, lat, unmasked and (scope.is_party_member or _covers(scope, grid_code))),
              "pinned": pinned} for h, lon, lat, pinned, grid_code in rows]
    shown = [i["code"] for i in items if not i["masked"]]
    if shown:
        with transaction(session):
            audit.record(session, scope, "read_unmasked", "party_member_households", str(member_id),
                         {"households": shown, "count": len(shown)})
    return {"member": _member_json(member), "items": items, "total": len(items),
            "masked": any(i["masked"] for i in items) or not unmasked}


def _covers(scope: Scope, grid_code: str | None) -> bool:
    """Whether ``scope`` reaches a row of the grid ``grid_code`` (None: of no grid, which only
    a scope of everything reaches)."""
    return scope.prefix == "" or (grid_code is not None and scope.covers(grid_code))


def _household_in_scope(session: Session, scope: Scope, household_code: str) -> Any:
    """A household (id, geom, grid_id) the caller's scope reaches, by its grid; None otherwise."""
    return session.execute(
        select(Household.id, Household.geom, Household.grid_id).outerjoin(Grid, Grid.id == Household.grid_id)
        .where(Household.code == household_code, scope.where(Grid.code))
    ).first()


def _placement(session: Session, scope: Scope, household_code: str | None, lon: float | None,
               lat: float | None, crs: str | None) -> dict[str, Any]:
    """Where a party member lives: at a household (its point and grid) or at a point."""
    if household_code:
        row = _household_in_scope(session, scope, household_code)
        if row is None:
            raise Unprocessable("household_not_found", details={"household_code": household_code},
                                code=household_code)
        return {"household_id": row.id, "geom": row.geom, "grid_id": row.grid_id}
    if lon is None or lat is None:
        raise Unprocessable("party_member_place_missing")
    lon, lat = point_to_wgs84(lon, lat, crs)
    row = session.execute(text("""
        SELECT g.id, g.code FROM grid g
        WHERE g.kind = 'map' AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
        ORDER BY g.code LIMIT 1"""), {"lon": lon, "lat": lat}).first()
    if not _covers(scope, row.code if row else None):
        raise Unprocessable("party_member_out_of_scope", details={"lon": lon, "lat": lat})
    return {"household_id": None, "geom": f"SRID=4326;POINT({lon} {lat})", "grid_id": row.id if row else None}


def create_member(session: Session, scope: Scope, fields: dict[str, Any]) -> dict[str, Any]:
    place = _placement(session, scope, fields.get("household_code"), fields.get("lon"), fields.get("lat"),
                       fields.get("crs"))
    with transaction(session):
        member = PartyMember(name=fields["name"], phone=fields.get("phone"), branch=fields.get("branch"), **place)
        session.add(member)
        session.flush()
        member_id = member.id
    return get_member(session, scope, member_id)


def update_member(session: Session, scope: Scope, member_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    _member_row(session, scope, member_id)
    with transaction(session):
        member = session.get(PartyMember, member_id)
        for key in ("name", "phone", "branch"):
            if key in fields:
                setattr(member, key, fields[key])
        if fields.get("household_code") or fields.get("lon") is not None:
            place = _placement(session, scope, fields.get("household_code"), fields.get("lon"),
                               fields.get("lat"), fields.get("crs"))
            for key, value in place.items():
                setattr(member, key, value)
    return get_member(session, scope, member_id)


CROSS_GRID_ROLES = (ADMIN, SUPERVISOR)


def set_contact(session: Session, scope: Scope, member_id: int, household_code: str,
                pinned: bool = True, cross_grid: bool = False) -> dict[str, Any]:
    """Give a household to a party member by hand (pinned by default: re-runs keep it). The
    household must be in the member's grid, unless a supervisor or admin says ``cross_grid``."""
    if cross_grid and scope.role not in CROSS_GRID_ROLES:
        raise Forbidden("cross_grid_contact_forbidden")
    member = _member_row(session, scope, member_id)
    row = _household_in_scope(session, scope, household_code)
    if row is None:
        raise NotFound("household_not_found", code=household_code)
    member_grid = session.scalar(select(PartyMember.grid_id).where(PartyMember.id == member.id))
    if (row.grid_id is None or row.grid_id != member_grid) and not cross_grid:
        raise Unprocessable("contact_outside_member_grid", details={"household_code": household_code,
                                                                    "member_grid": member.grid_code},
                            code=household_code, grid=member.grid_code or "—")
    with transaction(session):
        session.execute(text("""
            INSERT INTO party_contact (household_id, party_member_id, pinned, needs_review)
            VALUES (:h, :m, :p, false)
            ON CONFLICT (household_id) DO UPDATE SET party_member_id = EXCLUDED.party_member_id,
                pinned = EXCLUDED.pinned, needs_review = false"""), {"h": row.id, "m": member.id, "p": pinned})
    return {"party_member": member.id, "household": household_code, "pinned": pinned}


def remove_contact(session: Session, scope: Scope, member_id: int, household_code: str) -> dict[str, Any]:
    member = _member_row(session, scope, member_id)
    with transaction(session):
        removed = session.execute(text("""
            DELETE FROM party_contact pc USING household h
            WHERE pc.household_id = h.id AND h.code = :code AND pc.party_member_id = :m"""),
            {"code": household_code, "m": member.id}).rowcount
    if not removed:
        raise NotFound("household_not_found", code=household_code)
    return {"party_member": member.id, "household": household_code, "removed": True}


# --- grid staff ------------------------------------------------------------------------

def grid_staff(session: Session, scope: Scope, grid_code: str) -> dict[str, Any]:
    grid = _grid(session, scope, grid_code)
    rows = session.scalars(select(GridStaff).where(GridStaff.grid_id == grid.id)).all()
    order = {role: i for i, role in enumerate(STAFF_ROLES)}
    rows = sorted(rows, key=lambda s: (order.get(s.role, 99), s.sort_order, s.id))
    items = [{"role": s.role, "role_name": label(s.role, "staff_role"), "name": s.name,
              "phone": s.phone, "organisation": s.organisation, "duty": s.duty} for s in rows]
    return {"items": items, "total": len(items)}


def replace_grid_staff(session: Session, scope: Scope, grid_code: str, staff: list[dict[str, Any]], *,
                       on_change: Callable[[list[dict[str, Any]]], Any] | None = None) -> dict[str, Any]:
    """The whole list at once; ``on_change(before)`` runs in the same transaction once the new list
    is written (the caller's 责任交接: gridmap.handover.service.on_staff_change)."""
    grid = _grid(session, scope, grid_code)
    with transaction(session):
        old = session.scalars(select(GridStaff).where(GridStaff.grid_id == grid.id)
                              .order_by(GridStaff.sort_order, GridStaff.id)).all()
        before = [{"role": s.role, "name": s.name, "phone": s.phone} for s in old]
        session.query(GridStaff).filter(GridStaff.grid_id == grid.id).delete()
        for i, person in enumerate(staff):
            session.add(GridStaff(grid_id=grid.id, role=person["role"], name=person["name"],
                                  phone=person.get("phone"), organisation=person.get("organisation") or "",
                                  duty=person.get("duty") or "", sort_order=i))
        if on_change is not None:
            session.flush()
            on_change(before)
    return grid_staff(session, scope, grid_code)


# --- what the 民情地图 and the handbook show -------------------------------------------

_MAP_HOUSEHOLDS_SQL = """
SELECT h.code, h.address, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, h.size, h.tags, h.risk_level,
       h.head_name, h.phone, pc.party_member_id AS member_id, pm.name AS member_name, pm.phone AS member_phone,
       (SELECT max(v.visited_at) FROM party_visit v WHERE v.household_id = h.id) AS last_visit
FROM household h
LEFT JOIN party_contact pc ON pc.household_id = h.id
LEFT JOIN party_member pm ON pm.id = pc.party_member_id
WHERE h.grid_id = :grid_id {extra}
ORDER BY h.address, h.code
"""


def grid_sheet(session: Session, scope: Scope, grid_code: str, *, unmask: bool = False,
               action: str = "grid_map", public: bool = False) -> dict[str, Any]:
    """Everything a grid's 民情地图 and printed handbook show, already masked for ``scope``.

    Returns plain data: ``grid`` (a GeoJSON Feature with name, code, community), ``households``
    and ``members`` (FeatureCollections; households carry their party member and the Beijing day
    of their last party visit, ``last_visit``), ``staff``,
    and ``masked``. Unmasked reads are audited with the households shown. ``public`` (a wall
    map) masks whatever the viewer may see and leaves out sensitive tags and risk levels.
    """
    grid = _grid(session, scope, grid_code)
    unmasked = not public and sees_unmasked(scope, unmask)
    extra, params = "", {"grid_id": grid.id}
    if scope.is_party_member:
        extra, params["me"] = "AND pc.party_member_id = :me", scope.party_member_id
    rows = session.execute(text(_MAP_HOUSEHOLDS_SQL.format(extra=extra)), params).all()
    households = [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
        "properties": {
            "code": r.code, "address": r.address, "size": r.size,
            **household_person(r.tags, r.head_name, r.phone, r.risk_level, unmasked=unmasked, public=public),
            "member_id": r.member_id, "member_name": r.member_name, "member_phone": r.member_phone,
            "last_visit": as_local(r.last_visit).date().isoformat() if r.last_visit else None,
        },
    } for r in rows]
    members = grid_members(session, scope, grid_code)["items"]
    member_features = [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [m["lon"], m["lat"]]} if m["lon"] is not None else None,
        "properties": {k: m[k] for k in ("id", "name", "phone", "branch", "households")},
    } for m in members]
    community = session.get(AdminUnit, grid.community_id)
    geometry = session.scalar(select(Grid.geom.ST_AsGeoJSON(7)).where(Grid.id == grid.id))
    sheet = {
        "grid": {"type": "Feature", "geometry": json.loads(geometry) if geometry else None,
                 "properties": {"code": grid.code, "name": grid.name, "community_name": community.name,
                                "community_code": community.code, "households": len(households)}},
        "households": {"type": "FeatureCollection", "features": households},
        "members": {"type": "FeatureCollection", "features": member_features},
        "staff": grid_staff(session, scope, grid_code)["items"],
        "masked": not unmasked,
    }
    if unmasked and households:
        with transaction(session):
            audit.record(session, scope, "read_unmasked", action, grid_code,
                         {"households": [h["properties"]["code"] for h in households], "count": len(households)})
    return sheet
