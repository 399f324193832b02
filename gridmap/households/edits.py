"""Household information collection (基础信息采集): adding and editing one household.

Every write runs in one transaction: the household row (locked, its ``version`` compared with
the caller's: a stale one is a 409 carrying the current version and values), its grid by the
import's rule in SQL (gridmap.households.assignment), its party contacts, and one
``household_change`` row (before → after of the fields that changed, author, device).

Sensitive fields (the sensitive tags and the family risk level) edited by a grid worker do not
change the household: they wait as a ``pending`` change until a supervisor whose area covers it
approves or rejects it (gridmap.households.approvals); reads show the old values meanwhile.

A household that leaves a grid (moved point, moved out, merged into another) drops out of the
contacts of every party member whose grid is not its new one: a member's contacts are
households of their own grid (gridmap.party.service), and only a supervisor may say otherwise,
one household at a time. The 五必访 lists read the household's grid, so they follow at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth import audit
from gridmap.auth.masking import EVERYDAY_TAGS, MASKED_TAG, SENSITIVE_TAGS, normalise_tag, sees_unmasked
from gridmap.auth.roles import GRID_WORKER
from gridmap.auth.scope import Scope
from gridmap.coordinates import point_to_wgs84
from gridmap.db import transaction
from gridmap.errors import Conflict, Forbidden, NotFound, Unprocessable
from gridmap.households import client_writes
from gridmap.households.assignment import assign_households
from gridmap.households.models import HouseholdChange
from gridmap.households.service import household_json

PERSON_FIELDS = ("address", "head_name", "phone", "size", "tags", "risk_level")
SNAPSHOT_FIELDS = (*PERSON_FIELDS, "lon", "lat", "grid", "status", "merged_into")

# The household as one row, with the area code that scopes it: its grid, or (moved out, merged)
# the grid it was last recorded in.
ROW_SQL = """
SELECT h.id, h.code, h.address, h.head_name, h.phone, h.size, h.tags, h.risk_level, h.status, h.version,
       ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat, g.code AS grid, m.code AS merged_into,
       coalesce(g.code, (SELECT c.grid_code FROM household_change c
                          WHERE c.household_id = h.id AND c.grid_code IS NOT NULL
                          ORDER BY c.id DESC LIMIT 1)) AS area_code
  FROM household h LEFT JOIN grid g ON g.id = h.grid_id LEFT JOIN household m ON m.id = h.merged_into_id
 WHERE h.code = :code
"""

# A household that left its grid leaves the contacts of members of other grids; one no longer
# living here (moved out, merged) leaves every contact list.
FOLLOW_CONTACTS_SQL = text("""
DELETE FROM party_contact pc USING household h, party_member pm
 WHERE pc.household_id = h.id AND pm.id = pc.party_member_id AND h.id = :id
   AND (h.status <> 'active' OR pm.grid_id IS DISTINCT FROM h.grid_id)
""")


# A household's grid: the one it is assigned to, or (moved out) the map grid its point lies in.
POINT_GRID_SQL = text("""
SELECT h.status, coalesce(g.code, (SELECT p.code FROM grid p WHERE p.kind = 'map' AND ST_Intersects(p.geom, h.geom)
                                   ORDER BY p.code LIMIT 1))
  FROM household h LEFT JOIN grid g ON g.id = h.grid_id
 WHERE h.id = :id""")


def household_row(session: Session, scope: Scope, code: str, *, lock: bool = False) -> Any:
    """The household if the caller's area covers it, else 404 (never a hint that it exists)."""
    row = session.execute(text(ROW_SQL + (" FOR UPDATE OF h" if lock else "")), {"code": code}).first()
    if row is None or not _covers(scope, row.area_code):
        raise NotFound("household_not_found", code=code)
    return row


def _covers(scope: Scope, area_code: str | None) -> bool:
    return scope.prefix == "" or (area_code is not None and scope.covers(area_code))


def snapshot(row: Any) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in SNAPSHOT_FIELDS}
    values["tags"] = sorted(values["tags"] or [])
    return values


def household_out(session: Session, scope: Scope, row: Any, action: str) -> dict[str, Any]:
    """The household as the caller may see it (unmasked reads audited, in their own transaction)."""
    unmasked = sees_unmasked(scope, False)
    out = {**household_json(row, row.lon, row.lat, unmasked), "version": row.version, "status": row.status,
           "grid": row.grid, "merged_into": row.merged_into}
    if unmasked:
        with transaction(session):
            audit.record(session, scope, "read_unmasked", action, row.code, {"households": [row.code], "count": 1})
    return out


def _split_tags(scope: Scope, stored: list[str], wanted: list[str]) -> list[str]:
    """The tags to store for ``wanted``. A masked caller (a supervisor) sees the sensitive tags as
    ``MASKED_TAG``: sending it back keeps them; naming sensitive tags replaces them."""
    wanted = sorted(set(wanted))
    if sees_unmasked(scope, False):
        return wanted
    sensitive = [t for t in wanted if t in SENSITIVE_TAGS]
    hidden = [t for t in stored if t in SENSITIVE_TAGS]
    if MASKED_TAG in wanted and hidden and not sensitive:
        plain = [t for t in wanted if t != MASKED_TAG or MASKED_TAG in stored]
        return sorted(set(plain) | set(hidden))
    return wanted


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _sensitive_part(scope: Scope, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What of ``after`` a grid worker may not change without approval; taken out of ``after``."""
    if scope.role != GRID_WORKER:
        return {}
    held: dict[str, Any] = {}
    if "risk_level" in after and after["risk_level"] != before["risk_level"]:
        held["risk_level"] = after.pop("risk_level")
    if "tags" in after:
        old = sorted(t for t in before["tags"] if t in SENSITIVE_TAGS)
        new = sorted(t for t in after["tags"] if t in SENSITIVE_TAGS)
        if old != new:
            held["sensitive_tags"] = new
            after["tags"] = sorted({t for t in after["tags"] if t not in SENSITIVE_TAGS} | set(old))
        # a tag that is neither sensitive nor an everyday one, added now, waits too (EVERYDAY_TAGS)
        unknown = sorted(set(after["tags"]) - set(before["tags"]) - EVERYDAY_TAGS - SENSITIVE_TAGS)
        if unknown:
            held["new_tags"] = unknown
            after["tags"] = sorted(set(after["tags"]) - set(unknown))
    return held


def _check_status_change(scope: Scope, before: dict[str, Any], values: dict[str, Any]) -> None:
    """Moving out or merging takes a household off its grid's lists (五必访, contacts, counts): for
    one with a sensitive tag or a risk level that is the community's decision, not a grid worker's."""
    leaving = before["status"] == "active" and values.get("status", "active") != "active"
    watched = before["risk_level"] is not None or any(t in SENSITIVE_TAGS for t in before["tags"])
    if scope.role == GRID_WORKER and leaving and watched:
        raise Forbidden("household_status_needs_supervisor")


def _write(session: Session, household_id: int, values: dict[str, Any]) -> None:
    sets = [f"{k} = :{k}" for k in values if k in PERSON_FIELDS]
    params: dict[str, Any] = {k: v for k, v in values.items() if k in PERSON_FIELDS}
    if "lon" in values:
        sets.append("geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)")
        params.update(lon=values["lon"], lat=values["lat"])
    if "status" in values:
        sets += ["status = :status", "merged_into_id = :merged_into_id"]
        params.update(status=values["status"], merged_into_id=values.get("merged_into_id"))
        if values["status"] != "active":
            sets.append("grid_id = NULL")
    sets += ["version = version + 1", "updated_at = now()"]
    session.execute(text(f"UPDATE household SET {', '.join(sets)} WHERE id = :id"), {**params, "id": household_id})


def _place(session: Session, scope: Scope, household_id: int, moved: bool) -> None:
    """Re-assign a household whose point or status changed, and keep it in the caller's area."""
    if moved:
        assign_households(session, [household_id])
    status, grid = session.execute(POINT_GRID_SQL, {"id": household_id}).one()
    if (status == "active" or moved) and not _covers(scope, grid):
        raise Unprocessable("household_outside_scope")
    session.execute(FOLLOW_CONTACTS_SQL, {"id": household_id})


def _record(session: Session, scope: Scope, household_id: int, *, kind: str, status: str, before: dict[str, Any],
            after: dict[str, Any], grid_code: str | None, device: str, version: int | None) -> int:
    change = HouseholdChange(household_id=household_id, version=version, kind=kind, status=status, before=before,
                             after=after, grid_code=grid_code, author_id=scope.user_id, author_name=scope.username,
                             device=device)
    session.add(change)
    session.flush()
    return change.id


def _target(fields: dict[str, Any]) -> dict[str, Any]:
    """The requested values in snapshot form (WGS-84 point, sorted tags)."""
    values = {k: fields[k] for k in PERSON_FIELDS if k in fields}
    if "tags" in values:
        values["tags"] = sorted({normalise_tag(t) for t in values["tags"] or []} - {""})
    if fields.get("lon") is not None:
        values["lon"], values["lat"] = point_to_wgs84(fields["lon"], fields["lat"], fields.get("crs"))
    if "status" in fields:
        values["status"] = fields["status"]
    return values


def _merge_target(session: Session, scope: Scope, code: str, values: dict[str, Any], merged_into: str | None) -> None:
    if values.get("status") != "merged":
        values["merged_into"] = None
        return
    if not merged_into or merged_into == code:
        raise Unprocessable("merged_into_invalid", details={"merged_into": merged_into})
    try:
        target = household_row(session, scope, merged_into)
    except NotFound:
        raise Unprocessable("merged_into_invalid", details={"merged_into": merged_into}) from None
    values["merged_into"], values["merged_into_id"] = target.code, target.id


def _replayed(session: Session, scope: Scope, sent: Any) -> dict[str, Any]:
    """The answer to a re-sent write (gridmap.households.client_writes): the household now (read
    after the write's transaction has ended)."""
    code = session.scalar(text("SELECT code FROM household WHERE id = :id"), {"id": sent.household_id})
    row = household_row(session, scope, code)
    return {**household_out(session, scope, row, "household_write"), "pending": list(sent.pending), "replayed": True}


def create(session: Session, scope: Scope, fields: dict[str, Any], device: str,
           client: client_writes.Client | None = None) -> dict[str, Any]:
    """A new household at a point of the caller's area (201); a taken code is a 409. With
    ``client`` a re-sent create answers with the household (``replayed: true``)."""
    values = _target(fields)
    with transaction(session):
        sent = client_writes.stored(session, scope, client, "create") if client is not None else None
        if sent is None:
            taken = session.execute(text("INSERT INTO household (code, geom, status, version) VALUES "
                                         "(:code, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'active', 0) "
                                         "ON CONFLICT (code) DO NOTHING RETURNING id"),
                                    {"code": fields["code"], "lon": values["lon"], "lat": values["lat"]}).first()
            if taken is None:
                raise Conflict("household_code_taken", details={"code": fields["code"]}, code=fields["code"])
            household_id = taken.id
            empty = {"address": "", "head_name": None, "phone": None, "size": None, "tags": [], "risk_level": None}
            after = {**empty, **values}
            held = _sensitive_part(scope, {**empty, "status": "active"}, after)
            _write(session, household_id, {k: after.get(k, empty[k]) for k in PERSON_FIELDS})  # version 0 → 1
            _place(session, scope, household_id, moved=True)
            row = household_row(session, Scope.everything(), fields["code"])
            _record(session, scope, household_id, kind="create", status="applied", before={}, after=snapshot(row),
                    grid_code=row.grid, device=device, version=1)
            if held:
                _record(session, scope, household_id, kind="create", status="pending", before={}, after=held,
                        grid_code=row.grid, device=device, version=None)
            if client is not None:
                client_writes.remember(session, scope, client, "create", household_id, 201, list(held))
    if sent is not None:
        return _replayed(session, scope, sent)
    return {**household_out(session, scope, row, "household_write"), "pending": sorted(held), "replayed": False}


def update(session: Session, scope: Scope, code: str, fields: dict[str, Any], device: str,
           client: client_writes.Client | None = None) -> dict[str, Any]:
    """Apply an edit made at ``fields["version"]``; see the module docstring. With ``client`` a
    re-sent edit answers with the household now (``replayed: true``), never a 409 against itself."""
    held: dict[str, Any] = {}
    with transaction(session):
        row = household_row(session, scope, code, lock=True)
        sent = client_writes.stored(session, scope, client, "edit") if client is not None else None
        stale = sent is None and row.version != fields["version"]
        if sent is None and not stale:
            row, held = _apply(session, scope, row, fields, device)
            if client is not None:
                client_writes.remember(session, scope, client, "edit", row.id, 200, list(held))
    if sent is not None:
        return _replayed(session, scope, sent)
    if stale:  # the phone merges with what is stored now (shown as the caller may see it)
        current = household_out(session, scope, row, "household_conflict")
        raise Conflict("household_version_stale", details={"current_version": row.version, "household": current},
                       code=row.code, current=row.version)
    answer = household_out(session, scope, row, "household_write")
    return {**answer, "pending": sorted(held), "replayed": False}


def _apply(session: Session, scope: Scope, row: Any, fields: dict[str, Any], device: str) -> tuple[Any, dict]:
    """The edit's writes inside the caller's transaction: the household, its place, its change rows."""
    code = row.code
    before = snapshot(row)
    values = _target(fields)
    if "tags" in values:
        values["tags"] = _split_tags(scope, before["tags"], values["tags"])
    if "status" in values:
        _merge_target(session, scope, code, values, fields.get("merged_into"))
    _check_status_change(scope, before, values)
    held = _sensitive_part(scope, before, values)
    old, new = _diff(before, {k: v for k, v in values.items() if k != "merged_into_id"})
    if new:
        _write(session, row.id, values)
        _place(session, scope, row.id, moved="lon" in new or new.get("status") == "active")
        row = household_row(session, Scope.everything(), code)
        old, new = _diff(before, snapshot(row))
        _record(session, scope, row.id, kind="edit", status="applied", before=old, after=new,
                grid_code=before["grid"] or row.grid, device=device, version=row.version)
    if held:
        current = {"risk_level": before["risk_level"],
                   "sensitive_tags": sorted(t for t in before["tags"] if t in SENSITIVE_TAGS), "new_tags": []}
        _record(session, scope, row.id, kind="edit", status="pending",
                before={k: current[k] for k in held}, after=held, grid_code=row.area_code, device=device,
                version=None)
    return row, held
