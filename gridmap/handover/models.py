"""A grid's handover (责任交接): who handed over to whom, when, and the grid as it stood (a JSON
snapshot, stored unmasked and masked for each viewer when shown)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

REASONS = ("staff_change", "manual")


class GridHandover(Base):
    __tablename__ = "grid_handover"
    __table_args__ = (
        CheckConstraint(f"reason IN {REASONS}", name="reason_known"),
        Index("ix_grid_handover_grid_code", "grid_code", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(16))
    outgoing: Mapped[str] = mapped_column(Text, server_default="")
    incoming: Mapped[str] = mapped_column(Text, server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
