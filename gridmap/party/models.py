"""Party members and the households each looks after (党员联系户)."""

from __future__ import annotations

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base


class PartyMember(Base):
    __tablename__ = "party_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    branch: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id", ondelete="SET NULL"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_party_member_geom", "geom", postgresql_using="gist"),
        Index("ix_party_member_grid_id", "grid_id"),
        Index("ix_party_member_household_id", "household_id"),
    )


class PartyContact(Base):
    """A household looked after by one party member; ``pinned`` pairs survive re-runs."""

    __tablename__ = "party_contact"

    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"), primary_key=True)
    party_member_id: Mapped[int] = mapped_column(ForeignKey("party_member.id", ondelete="CASCADE"))
    pinned: Mapped[bool] = mapped_column(Boolean, server_default="false")
    needs_review: Mapped[bool] = mapped_column(Boolean, server_default="false")

    __table_args__ = (Index("ix_party_contact_party_member_id", "party_member_id"),)
