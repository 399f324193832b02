"""The audit log: written by callers inside their own transaction; read by admins."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gridmap.auth.models import AuditLog
from gridmap.auth.scope import Scope


def record(session: Session, scope: Scope, action: str, object_type: str, object_id: str,
           detail: dict[str, Any] | None = None) -> None:
    session.add(AuditLog(
        actor_id=scope.user_id, actor_name=scope.username, action=action,
        object_type=object_type, object_id=object_id, detail=detail or {},
    ))


def entries(session: Session, *, actor: str | None, action: str | None, since: date | None, until: date | None,
            limit: int, offset: int) -> dict[str, Any]:
    """Newest first, filtered by actor name, action and day range (until inclusive)."""
    conditions = []
    if actor:
        conditions.append(AuditLog.actor_name == actor)
    if action:
        conditions.append(AuditLog.action == action)
    if since:
        conditions.append(AuditLog.at >= since)
    if until:
        conditions.append(AuditLog.at < until + timedelta(days=1))
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*conditions))
    rows = session.scalars(select(AuditLog).where(*conditions).order_by(AuditLog.at.desc(), AuditLog.id.desc())
                           .limit(limit).offset(offset)).all()
    actions = session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)).all()
    return {"items": rows, "total": total, "actions": actions}
