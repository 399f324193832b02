"""Households: a point each, assigned to the grid that covers it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP, UUID
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

RISK_LEVELS = ("high", "medium", "low")
# An active household belongs to the grid that covers it; one moved out or merged into another
# belongs to none (grid_id NULL, never re-assigned) and keeps its record and history.
STATUSES = ("active", "moved_out", "merged")
# A recorded change: applied at once, or (a grid worker's edit of sensitive fields) pending until
# a supervisor of its area approves or rejects it.
CHANGE_STATUSES = ("applied", "pending", "approved", "rejected")


class Household(Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(Text, server_default="")
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id", ondelete="SET NULL"))
    size: Mapped[int | None] = mapped_column(SmallInteger)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    risk_level: Mapped[str | None] = mapped_column(String(8))
    # Sensitive personal data: masked for roles that need not see it (gridmap.auth.masking).
    head_name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("household.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("status IN ('active', 'moved_out', 'merged')", name="status_known"),
        CheckConstraint("status = 'active' OR grid_id IS NULL", name="inactive_has_no_grid"),
        CheckConstraint("size IS NULL OR size BETWEEN 1 AND 99", name="size_range"),
        CheckConstraint("risk_level IS NULL OR risk_level IN ('high', 'medium', 'low')", name="risk_known"),
        # A point is valid when its coordinates are finite: the range check guards that
        # (NaN and Infinity fail BETWEEN) without building a GEOS geometry per row.
        CheckConstraint("NOT ST_IsEmpty(geom) AND ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90",
                        name="geom_valid"),
        Index("ix_household_geom", "geom", postgresql_using="gist"),
        Index("ix_household_grid_id", "grid_id"),
        Index("ix_household_tags", "tags", postgresql_using="gin"),
        # Address search (gridmap.addresses): trigram similarity, pg_trgm.
        Index("ix_household_address_trgm", "address", postgresql_using="gin",
              postgresql_ops={"address": "gin_trgm_ops"}),
        # Deleting a household looks here for the households merged into it (ON DELETE SET NULL).
        Index("ix_household_merged_into_id", "merged_into_id", postgresql_where=text("merged_into_id IS NOT NULL")),
    )



class HouseholdChange(Base):
    """One change of a household: who, when, from which device, the fields before and after.
    An applied (or approved) change is a version of the household (``version``); a pending one
    has none until approved."""

    __tablename__ = "household_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    version: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any]] = mapped_column(JSONB)
    after: Mapped[dict[str, Any]] = mapped_column(JSONB)
    grid_code: Mapped[str | None] = mapped_column(String(24))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(Text)
    device: Mapped[str] = mapped_column(Text, server_default="")
    at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    note: Mapped[str] = mapped_column(Text, server_default="")

    __table_args__ = (
        CheckConstraint("kind IN ('create', 'edit')", name="kind_known"),
        CheckConstraint("status IN ('applied', 'pending', 'approved', 'rejected')", name="status_known"),
        CheckConstraint("(version IS NULL) = (status IN ('pending', 'rejected'))", name="versioned_when_applied"),
        Index("ix_household_change_household_id", "household_id", "id"),
        Index("ix_household_change_pending", "grid_code", postgresql_where=text("status = 'pending'")),
    )


class HouseholdClientWrite(Base):
    """A household write the phone's offline outbox sent with a client id: whose it is, the
    SHA-256 of the request, the status it was answered with and the fields it left pending.
    A re-sent request is answered from here (and the household as it is now), not applied again."""

    __tablename__ = "household_client_write"

    client_id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    pending: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("kind IN ('create', 'edit')", name="kind_known"),
                      Index("ix_household_client_write_household_id", "household_id"))
