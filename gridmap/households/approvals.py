"""Approval of sensitive household edits (社区审核): a grid worker's change of a household's
sensitive tags or risk level waits as a pending ``household_change`` until a supervisor whose area
covers the household (or an admin) approves it — then it is a new version of the household,
authored by the worker, decided by the supervisor — or rejects it (nothing changes).

The approver has to see what they approve: the pending list shows the proposed values to
supervisors, and every such read is audited like any other unmasked read.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth import audit
from gridmap.auth.masking import SENSITIVE_TAGS
from gridmap.auth.scope import Scope
from gridmap.db import transaction
from gridmap.errors import Conflict, NotFound
from gridmap.households.edits import household_out, household_row, snapshot

PENDING_SQL = """
SELECT c.id, h.code AS household, h.address, c.grid_code, c.before, c.after, c.author_name, c.device, c.at
  FROM household_change c JOIN household h ON h.id = c.household_id
 WHERE c.status = 'pending' AND (:everything OR c.grid_code LIKE :pattern)
"""


def pending(session: Session, scope: Scope, within: str | None, limit: int, offset: int) -> dict[str, Any]:
    """Changes waiting for approval in the caller's area, oldest first."""
    pattern = scope.like_pattern(within)
    if pattern is None:
        return {"items": [], "total": 0}
    total = session.scalar(text(f"SELECT count(*) FROM ({PENDING_SQL}) p"), {"pattern": pattern, "everything": pattern == "%"})
    rows = session.execute(text(PENDING_SQL + " ORDER BY c.at, c.id LIMIT :limit OFFSET :offset"),
                           {"pattern": pattern, "everything": pattern == "%", "limit": limit, "offset": offset}).all()
    items = [{"id": r.id, "household": r.household, "address": r.address, "grid": r.grid_code, "before": r.before,
              "after": r.after, "author": r.author_name, "device": r.device, "at": r.at.isoformat()} for r in rows]
    if items:
        with transaction(session):
            audit.record(session, scope, "read_unmasked", "household_changes", within or scope.prefix,
                         {"households": sorted({i["household"] for i in items}), "count": len(items)})
    return {"items": items, "total": total}


def _pending_change(session: Session, scope: Scope, code: str, change_id: int) -> tuple[Any, Any]:
    row = household_row(session, scope, code, lock=True)
    change = session.execute(text("SELECT id, status, after FROM household_change WHERE id = :id AND household_id = :h"
                                  " FOR UPDATE"), {"id": change_id, "h": row.id}).first()
    if change is None:
        raise NotFound("household_change_not_found", id=change_id)
    if change.status != "pending":
        raise Conflict("household_change_decided", details={"status": change.status}, id=change_id)
    return row, change


def decide(session: Session, scope: Scope, code: str, change_id: int, approve: bool, note: str) -> dict[str, Any]:
    """Approve (apply as a new version) or reject a pending change; one transaction."""
    with transaction(session):
        row, change = _pending_change(session, scope, code, change_id)
        decision = {"decided_by": scope.username, "note": note, "id": change_id}
        if not approve:
            session.execute(text("UPDATE household_change SET status = 'rejected', decided_by = :decided_by,"
                                 " decided_at = now(), note = :note WHERE id = :id"), decision)
        else:
            before = snapshot(row)
            proposed = change.after
            tags = before["tags"]
            if "sensitive_tags" in proposed:
                tags = sorted({t for t in tags if t not in SENSITIVE_TAGS} | set(proposed["sensitive_tags"]))
            if "new_tags" in proposed:
                tags = sorted(set(tags) | set(proposed["new_tags"]))
            risk = proposed.get("risk_level", before["risk_level"])
            session.execute(text("UPDATE household SET tags = :tags, risk_level = :risk, version = version + 1,"
                                 " updated_at = now() WHERE id = :id"), {"tags": tags, "risk": risk, "id": row.id})
            after = {"tags": tags, "risk_level": risk}
            keys = [k for k in after if after[k] != before[k]]
            session.execute(text(
                "UPDATE household_change SET status = 'approved', decided_by = :decided_by, decided_at = now(),"
                " note = :note, version = :version, before = CAST(:before AS jsonb), after = CAST(:after AS jsonb)"
                " WHERE id = :id"),
                {**decision, "version": row.version + 1, "before": _json({k: before[k] for k in keys}),
                 "after": _json({k: after[k] for k in keys})})
        row = household_row(session, Scope.everything(), code)
    answer = household_out(session, scope, row, "household_write")
    return {**answer, "change": {"id": change_id, "status": "approved" if approve else "rejected"}}


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)
