"""Party members and the households each looks after (党员联系户), and the people
attached to a grid who appear in its contact handbook (网格干部联系手册)."""

from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import TIMESTAMP, UUID
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

# Grid staff roles in handbook order ("3+N": leader, worker, police, department staff).
STAFF_ROLES = ("grid_leader", "grid_worker", "police", "department", "other")


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


class GridStaff(Base):
    """A person attached to a grid: grid leader, grid worker, police, department staff."""

    __tablename__ = "grid_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    organisation: Mapped[str] = mapped_column(Text, server_default="")
    duty: Mapped[str] = mapped_column(Text, server_default="")
    sort_order: Mapped[int] = mapped_column(SmallInteger, server_default="0")

    __table_args__ = (
        CheckConstraint(
            "role IN ('grid_leader', 'grid_worker', 'police', 'department', 'other')", name="role_known"),
        Index("ix_grid_staff_grid_id", "grid_id"),
    )


class PartyVisit(Base):
    """A party member's visit to one of their contact households (走访): when it took place
    (``visited_at``, the phone's clock), when the server got it, a note and where the phone was.
    ``client_id`` is the phone's UUID: a re-sent visit is the stored one, never a second row."""

    __tablename__ = "party_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id", ondelete="CASCADE"))
    party_member_id: Mapped[int] = mapped_column(ForeignKey("party_member.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    visited_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))
    received_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    note: Mapped[str] = mapped_column(Text, server_default="")
    geom: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    accuracy_m: Mapped[float | None] = mapped_column()

    __table_args__ = (
        Index("ix_party_visit_household_id_visited_at", "household_id", "visited_at"),
        Index("ix_party_visit_party_member_id_visited_at", "party_member_id", "visited_at"),
        Index("ix_party_visit_visited_at", "visited_at"),
    )
