"""A household's history: every change (who, when, from which device, before → after per field),
pending and rejected ones included, and the comparison of two versions.

Values are shown as the viewer may see the household itself (gridmap.auth.masking): masked, a
name and a phone are masked in every version, sensitive tags show as ``重点人员`` and risk
levels and proposed sensitive tags not at all; unmasked reads are audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth import audit
from gridmap.auth.masking import mask_name, mask_phone, mask_tags, sees_unmasked
from gridmap.auth.scope import Scope
from gridmap.db import transaction
from gridmap.households.edits import household_row

CHANGES_SQL = text("""
SELECT id, version, kind, status, before, after, author_name, device, at, decided_by, decided_at, note
  FROM household_change WHERE household_id = :id ORDER BY id
""")


def _masked(name: str, value: Any) -> Any:
    if name == "head_name":
        return mask_name(value)
    if name == "phone":
        return mask_phone(value)
    if name == "tags":
        return mask_tags(value)
    if name in ("risk_level", "sensitive_tags", "new_tags"):  # a new tag may say what a sensitive one does
        return None
    return value


def _fields(before: dict[str, Any], after: dict[str, Any], unmasked: bool) -> dict[str, dict[str, Any]]:
    shown = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if not unmasked:
            old, new = _masked(name, old), _masked(name, new)
        shown[name] = {"before": old, "after": new}
    return shown


def _compare(rows: list[Any], since: int, until: int, unmasked: bool) -> dict[str, Any]:
    """Each field that changed between versions ``since`` and ``until``: its value at each."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for r in rows:
        if r.version is None or not since < r.version <= until:
            continue
        for name, value in r.before.items():
            before.setdefault(name, value)
        after.update(r.after)
    changed = {k: v for k, v in _fields(before, after, unmasked).items() if v["before"] != v["after"]}
    return {"from_version": since, "to_version": until, "fields": changed}


def history(session: Session, scope: Scope, code: str, *, unmask: bool, since: int | None,
            until: int | None) -> dict[str, Any]:
    row = household_row(session, scope, code)
    unmasked = sees_unmasked(scope, unmask)
    rows = session.execute(CHANGES_SQL, {"id": row.id}).all()
    items = [{
        "id": r.id, "version": r.version, "kind": r.kind, "status": r.status, "author": r.author_name,
        "device": r.device, "at": r.at.isoformat(), "decided_by": r.decided_by,
        "decided_at": r.decided_at.isoformat() if r.decided_at else None, "note": r.note,
        "fields": _fields(r.before, r.after, unmasked),
    } for r in reversed(rows)]
    answer: dict[str, Any] = {"household": row.code, "version": row.version, "items": items, "total": len(items),
                              "masked": not unmasked}
    if since is not None or until is not None:
        answer["compare"] = _compare(rows, since or 0, until if until is not None else row.version, unmasked)
    if unmasked:
        with transaction(session):
            audit.record(session, scope, "read_unmasked", "household_history", row.code,
                         {"households": [row.code], "count": 1})
    return answer
