"""Households: a point each, assigned to the grid that covers it."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

RISK_LEVELS = ("high", "medium", "low")


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

    __table_args__ = (
        CheckConstraint("size IS NULL OR size BETWEEN 1 AND 99", name="size_range"),
        CheckConstraint("risk_level IS NULL OR risk_level IN ('high', 'medium', 'low')", name="risk_known"),
        # A point is valid when its coordinates are finite: the range check guards that
        # (NaN and Infinity fail BETWEEN) without building a GEOS geometry per row.
        CheckConstraint("NOT ST_IsEmpty(geom) AND ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90",
                        name="geom_valid"),
        Index("ix_household_geom", "geom", postgresql_using="gist"),
        Index("ix_household_grid_id", "grid_id"),
        Index("ix_household_tags", "tags", postgresql_using="gin"),
    )

