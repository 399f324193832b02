"""Check-ins, partitioned by month on ``recorded_at``, and their idempotency keys.

``checkin`` is declaratively partitioned (``PARTITION BY RANGE (recorded_at)``); its
monthly partitions live in the schema ``checkin_part`` (see ``gridmap.patrol.partitions``)
with a DEFAULT partition catching anything outside the prepared months, so no check-in
is ever refused for its date. A unique index on a partitioned table must contain the
partition key, so idempotency by the client's UUID is decided by ``checkin_key``: a
small plain table whose primary key is that UUID and which keeps the first answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import REAL, ForeignKey, Index, Integer, SmallInteger, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP, UUID
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

PARTITION_SCHEMA = "checkin_part"


class Checkin(Base):
    __tablename__ = "checkin"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    # No foreign key: the inserting statement takes grid_id from the grid table, and grids are
    # retired, never deleted (migration 0021).
    grid_id: Mapped[int | None] = mapped_column(Integer)
    grid_version: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    accuracy_m: Mapped[float] = mapped_column(REAL)
    received_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, server_default="")
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))

    __table_args__ = (
        Index("ix_checkin_user_id_recorded_at", "user_id", "recorded_at"),
        Index("ix_checkin_grid_id_recorded_at", "grid_id", "recorded_at"),
        Index("ix_checkin_household_id", "household_id", postgresql_where=text("household_id IS NOT NULL")),
        {"postgresql_partition_by": "RANGE (recorded_at)"},
    )


class CheckinKey(Base):
    """One row per client UUID ever accepted: the database's idempotency decision, and what
    the first answer said (a re-send gets it again: gridmap.patrol.service.answer)."""

    __tablename__ = "checkin_key"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # No foreign key: the check-in row written with it carries the same user_id and checks it.
    user_id: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))
    # The first answer as a document: keys stored before migration 0041 (NULL since, the
    # columns below hold it: building a JSONB document cost a sixth of the insert)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    # 0 inside one of the worker's grids, 1 near one, 2 inside another grid, 3 none
    rank: Mapped[int | None] = mapped_column(SmallInteger)
    grid: Mapped[str | None] = mapped_column(Text)  # code and name as answered then
    grid_name: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    household_code: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_checkin_key_recorded_at", "recorded_at", postgresql_using="brin"),)
