"""Key places of a grid (重点场所): rented-housing clusters, schools, petrol stations, fire
hydrants, party-and-masses service centres… drawn on the 民情地图 and listed in the handbook."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

# The small catalogue of kinds, in legend order: code → Chinese name.
KINDS: dict[str, str] = {
    "party_centre": "党群服务中心",
    "rental_cluster": "出租房集中点",
    "school": "学校",
    "kindergarten": "幼儿园",
    "medical": "医疗机构",
    "elderly_care": "养老机构",
    "market": "农贸市场",
    "gas_station": "加油站",
    "hydrant": "消防栓",
    "other": "其他",
}
KIND_BY_NAME = {name: code for code, name in KINDS.items()}


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
    )
