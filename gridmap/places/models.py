"""Key places of a grid (重点场所): rented-housing clusters, schools, petrol stations, fire
hydrants, party-and-masses service centres… drawn on the 民情地图 and listed in the handbook."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

# The small catalogue of kinds, in legend order (their names: labels kind "place_kind").
KINDS = ("party_centre", "rental_cluster", "school", "kindergarten", "medical", "elderly_care", "market",
         "gas_station", "hydrant", "other")


class KeyPlace(Base):
    __tablename__ = "key_place"

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(24))
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    address: Mapped[str] = mapped_column(Text, server_default="")
    note: Mapped[str] = mapped_column(Text, server_default="")
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("grid_id", "kind", "name"),
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name="kind_known"),
        CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
        Index("ix_key_place_geom", "geom", postgresql_using="gist"),
        Index("ix_key_place_address_trgm", "address", postgresql_using="gin",
              postgresql_ops={"address": "gin_trgm_ops"}),
    )
