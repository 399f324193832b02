"""责任交接: a handover is taken inside the staff change that makes it (the party room calls
``on_staff_change`` in its transaction, so both are saved or neither), or on request; listed per
grid; read masked per the viewer's role, unmasked reads audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridmap.auth import audit
from gridmap.auth.masking import sees_unmasked
from gridmap.auth.scope import Scope
from gridmap.clock import as_local
from gridmap.clock import now as clock_now
from gridmap.db import transaction
from gridmap.errors import NotFound
from gridmap.handover import snapshot
from gridmap.handover.models import GridHandover
from gridmap.handover.view import households_shown, shown

NAME_SEPARATOR = "\u3001"  # 、 between names


def _names(people: list[tuple[str, str | None]]) -> str:
    return NAME_SEPARATOR.join(name for name, _ in people)


def _add(session: Session, scope: Scope, grid_code: str, *, reason: str, before: list[dict[str, Any]],
         after: list[dict[str, Any]], visit_tags: tuple[str, ...] | list[str], now: datetime) -> GridHandover:
    data = snapshot.take(session, grid_code, visit_tags=visit_tags, staff_before=before, staff_after=after, now=now)
    handover = GridHandover(grid_code=grid_code, reason=reason, outgoing=_names(snapshot.workers(before)),
                            incoming=_names(snapshot.workers(after)), created_by_id=scope.user_id,
                            created_by=scope.username, created_at=now, snapshot=data)
    session.add(handover)
    session.flush()
    return handover


def on_staff_change(session: Session, scope: Scope, grid_code: str, before: list[dict[str, Any]], *,
                    visit_tags: tuple[str, ...] | list[str], now: datetime | None = None) -> int | None:
    """Called inside the staff change's transaction, after the new list is written: a handover
    when the grid workers (names or phones) changed; its id, or None."""
    after = snapshot.staff_of(session, grid_code)
    if snapshot.workers(before) == snapshot.workers(after):
        return None
    return _add(session, scope, grid_code, reason="staff_change", before=before, after=after,
                visit_tags=visit_tags, now=now or clock_now()).id


def staff_change_hook(session: Session, scope: Scope, grid_code: str, *, visit_tags: tuple[str, ...] | list[str]
                      ) -> Callable[[list[dict[str, Any]]], int | None]:
    """What a staff change calls with the list before it (party.service.replace_grid_staff's ``on_change``)."""
    return lambda before: on_staff_change(session, scope, grid_code, before, visit_tags=visit_tags)


def create(session: Session, scope: Scope, grid_code: str, *, visit_tags: tuple[str, ...] | list[str],
           now: datetime | None = None) -> dict[str, Any]:
    """A handover on request (the same workers on both sides until the staff list changes)."""
    scope.require(grid_code, "grid_not_found")
    staff = snapshot.staff_of(session, grid_code)
    with transaction(session):
        if not snapshot.grid_exists(session, grid_code):
            raise NotFound("grid_not_found", code=grid_code)
        handover = _add(session, scope, grid_code, reason="manual", before=staff, after=staff,
                        visit_tags=visit_tags, now=now or clock_now())
        result = _summary(handover)
    return result


def _summary(h: GridHandover) -> dict[str, Any]:
    return {"id": h.id, "grid": h.grid_code, "reason": h.reason, "outgoing": h.outgoing, "incoming": h.incoming,
            "created_by": h.created_by, "created_at": as_local(h.created_at).isoformat(timespec="seconds")}


def list_handovers(session: Session, scope: Scope, grid_code: str) -> dict[str, Any]:
    """The grid's handovers, newest first."""
    scope.require(grid_code, "grid_not_found")
    rows = session.scalars(select(GridHandover).where(GridHandover.grid_code == grid_code)
                           .order_by(GridHandover.created_at.desc(), GridHandover.id.desc())).all()
    if not rows and not snapshot.grid_exists(session, grid_code):  # a removed grid keeps its history
        raise NotFound("grid_not_found", code=grid_code)
    items = [_summary(h) for h in rows]
    return {"items": items, "total": len(items)}


def read(session: Session, scope: Scope, grid_code: str, handover_id: int, *, unmask: bool) -> dict[str, Any]:
    """One handover with its snapshot as the viewer may see it; an unmasked read is audited."""

    scope.require(grid_code, "grid_not_found")
    handover = session.get(GridHandover, handover_id)
    if handover is None or handover.grid_code != grid_code:
        raise NotFound("handover_not_found", id=handover_id)
    unmasked = sees_unmasked(scope, unmask)
    result = {**_summary(handover), "snapshot": shown(handover.snapshot, unmasked=unmasked)}
    if unmasked:
        with transaction(session):
            codes = households_shown(handover.snapshot)
            audit.record(session, scope, "read_unmasked", "grid_handover", str(handover.id),
                         {"grid": grid_code, "households": codes, "count": len(codes)})
    return result
