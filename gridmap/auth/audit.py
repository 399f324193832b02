"""Write audit rows. Callers add them inside their own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gridmap.auth.models import AuditLog
from gridmap.auth.scope import Scope


def record(session: Session, scope: Scope, action: str, object_type: str, object_id: str,
           detail: dict[str, Any] | None = None) -> None:
    session.add(AuditLog(
        actor_id=scope.user_id, actor_name=scope.username, action=action,
        object_type=object_type, object_id=object_id, detail=detail or {},
    ))
