"""What the public form (居民吹哨) keeps beside the hazard it lands as: the resident's tracking
code and their optional phone (for the call back); the rate-limit hits per client address
and per phone; the proof-of-work challenges already used (a replay is refused)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base


class PublicReport(Base):
    __tablename__ = "public_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id", ondelete="CASCADE"), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())


class PublicHit(Base):
    """One accepted public report, counted against its client address and (if given) its phone."""

    __tablename__ = "public_hit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('address', 'phone')", name="kind_known"),
        Index("ix_public_hit_kind_key_at", "kind", "key", "at"),
    )


class PublicChallengeUsed(Base):
    """A proof-of-work challenge spent on a report; kept until it would have expired anyway."""

    __tablename__ = "public_challenge_used"

    challenge: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), index=True)
