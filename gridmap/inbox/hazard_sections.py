"""The inbox's hazard sections, one set-wise query each (gridmap.inbox.service assembles them).

The three deadline sections never share a hazard: ``overdue`` (open and past a deadline, in the
caller's area: a supervisor's area, a grid worker's grid), then of the open hazards assigned to the
caller and not overdue ``due_soon`` (next deadline at most 24 hours away, the edge included) and
``assigned`` (the rest). ``supervised``: 督办 notes of the last ``SUPERVISE_DAYS`` about open items
still assigned to the caller (the partial index ix_hazard_event_supervise_at finds them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from gridmap.auth.models import User
from gridmap.auth.scope import Scope
from gridmap.hazards.models import OPEN_STATUSES, Hazard, HazardCategory, HazardEvent
from gridmap.hazards.service import next_deadline_expr, overdue_expr

DUE_SOON = timedelta(hours=24)
SUPERVISE_DAYS = 7
HAZARD_KINDS = ("overdue", "due_soon", "assigned", "supervised")


def _me(scope: Scope) -> int:
    """The caller's user id (-1, no one's, for a scope without a user)."""
    return scope.user_id if scope.user_id is not None else -1


def _conditions(kind: str, scope: Scope, now: datetime) -> list[Any]:
    """The WHERE of one deadline section (besides open and in the caller's area)."""
    mine = Hazard.assignee_id == _me(scope)
    if kind == "overdue":
        return [overdue_expr(now)]
    soon = next_deadline_expr() <= now + DUE_SOON
    return [mine, ~overdue_expr(now), soon if kind == "due_soon" else ~soon]


def _page(query, limit: int, offset: int):
    return query.add_columns(func.count().over().label("total")).limit(limit).offset(offset)


def deadline_section(session: Session, scope: Scope, kind: str, *, now: datetime, limit: int,
                     offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One of ``overdue``, ``due_soon``, ``assigned``: hazards soonest deadline first, and their total."""
    pattern = scope.like_pattern()
    if pattern is None:
        return [], 0
    deadline = next_deadline_expr().label("deadline")
    query = (select(Hazard.id, Hazard.code, Hazard.status, Hazard.description, Hazard.grid_code, Hazard.updated_at,
                    HazardCategory.name.label("category_name"), deadline)
             .join(HazardCategory, HazardCategory.code == Hazard.category_code)
             .where(Hazard.status.in_(OPEN_STATUSES), scope.where(Hazard.grid_code), *_conditions(kind, scope, now))
             .order_by(deadline, Hazard.id))
    rows = session.execute(_page(query, limit, offset)).all()
    return [dict(r._mapping) for r in rows], int(rows[0].total) if rows else 0


def supervised_section(session: Session, scope: Scope, *, now: datetime, limit: int,
                       offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """督办 notes about open hazards assigned to the caller, newest first, with who wrote them."""
    if scope.like_pattern() is None:
        return [], 0
    me, actor = _me(scope), aliased(User)
    query = (select(HazardEvent.id.label("event_id"), HazardEvent.at, HazardEvent.note,
                    actor.display_name.label("actor"), Hazard.id, Hazard.code, Hazard.status, Hazard.description,
                    Hazard.grid_code, HazardCategory.name.label("category_name"))
             .join(Hazard, Hazard.id == HazardEvent.hazard_id)
             .join(HazardCategory, HazardCategory.code == Hazard.category_code)
             .outerjoin(actor, actor.id == HazardEvent.actor_id)
             .where(HazardEvent.action == "supervise", HazardEvent.at >= now - timedelta(days=SUPERVISE_DAYS),
                    HazardEvent.detail["assignee_id"].astext == str(me),
                    Hazard.assignee_id == me, Hazard.status.in_(OPEN_STATUSES),
                    scope.where(Hazard.grid_code))
             .order_by(HazardEvent.at.desc(), HazardEvent.id.desc()))
    rows = session.execute(_page(query, limit, offset)).all()
    return [dict(r._mapping) for r in rows], int(rows[0].total) if rows else 0


def hazard_counts(session: Session, scope: Scope, *, now: datetime) -> dict[str, int]:
    """The four sections' totals in one query over the open hazards of the caller's area."""
    pattern = scope.like_pattern()
    if pattern is None:
        return dict.fromkeys(HAZARD_KINDS, 0)
    me = _me(scope)

    def counted(kind: str):
        return func.count().filter(and_(*_conditions(kind, scope, now))).label(kind)

    row = session.execute(
        select(counted("overdue"), counted("due_soon"), counted("assigned"),
               select(func.count()).select_from(HazardEvent).join(Hazard, Hazard.id == HazardEvent.hazard_id)
               .where(HazardEvent.action == "supervise", HazardEvent.at >= now - timedelta(days=SUPERVISE_DAYS),
                      HazardEvent.detail["assignee_id"].astext == str(me),
                      Hazard.assignee_id == me, Hazard.status.in_(OPEN_STATUSES), scope.where(Hazard.grid_code))
               .correlate(None).scalar_subquery().label("supervised"))
        .select_from(Hazard).where(Hazard.status.in_(OPEN_STATUSES), scope.where(Hazard.grid_code))
    ).one()
    return {kind: int(getattr(row, kind)) for kind in HAZARD_KINDS}

