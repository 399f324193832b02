"""Admin units (district → street → community) and grids, with grid versions."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, Integer, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridmap.db import Base

LEVELS = ("district", "street", "community")
GRID_KINDS = ("map", "out_of_area")


class AdminUnit(Base):
    __tablename__ = "admin_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(12))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id", ondelete="RESTRICT"))
    geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)
    )
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    parent: Mapped[AdminUnit | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint(
            "(level = 'district' AND code ~ '^[0-9]{6}$')"
            " OR (level = 'street' AND code ~ '^[0-9]{9}$')"
            " OR (level = 'community' AND code ~ '^[0-9]{12}$')",
            name="code_matches_level",
        ),
        CheckConstraint("geom IS NULL OR ST_IsValid(geom)", name="geom_valid"),
        Index("ix_admin_unit_geom", "geom", postgresql_using="gist"),
        Index("ix_admin_unit_code_prefix", "code", postgresql_ops={"code": "varchar_pattern_ops"}),
        Index("ix_admin_unit_parent_id", "parent_id"),
    )


class Grid(Base):
    __tablename__ = "grid"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    name: Mapped[str] = mapped_column(Text)
    community_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(12), server_default="map")
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    target_min: Mapped[int] = mapped_column(SmallInteger, server_default="300")
    target_max: Mapped[int] = mapped_column(SmallInteger, server_default="500")
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    # Set when a grid is merged into another (planning): its code and versions stay for
    # history (check-ins and hazards keep the grid version they were made under); its
    # geometry becomes empty so no spatial query matches it any more.
    retired_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    # The outline in Web Mercator, simplified for vector tiles up to z11 / at z12-13 (half a
    # tile unit): kept by PostgreSQL from geom, read by gridmap.tiles (migration 0031).
    tile_geom_lo: Mapped[WKBElement | None] = mapped_column(
        Geometry(srid=3857, spatial_index=False),
        Computed("ST_SimplifyPreserveTopology(ST_Transform(geom, 3857), 2.39)", persisted=True), deferred=True)
    tile_geom_mid: Mapped[WKBElement | None] = mapped_column(
        Geometry(srid=3857, spatial_index=False),
        Computed("ST_SimplifyPreserveTopology(ST_Transform(geom, 3857), 0.6)", persisted=True), deferred=True)

    community: Mapped[AdminUnit] = relationship()

    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{15}$'", name="code_digits"),  # community + 3: gridmap.areas.codes
        CheckConstraint("kind IN ('map', 'out_of_area')", name="kind_known"),
        CheckConstraint("kind = 'out_of_area' OR geom IS NOT NULL", name="map_grid_has_geom"),
        CheckConstraint("geom IS NULL OR ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint("target_min > 0 AND target_min <= target_max", name="target_range"),
        Index("ix_grid_geom", "geom", postgresql_using="gist"),
        Index("ix_grid_code_prefix", "code", postgresql_ops={"code": "varchar_pattern_ops"}),
        Index("ix_grid_community_id", "community_id"),
    )


class GridVersion(Base):
    """Every boundary a grid has had; the current one has ``valid_to IS NULL``."""

    __tablename__ = "grid_version"

    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    valid_from: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    valid_to: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        Index("ix_grid_version_geom", "geom", postgresql_using="gist"),
    )
