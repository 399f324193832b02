"""Patrol plans (巡查计划): how often grids are patrolled and key places visited.

A plan row says "at least ``min_count`` days with a visit per ``period``" (day, week or month,
Beijing time) for one ``subject``: ``grid`` (a check-in in the grid) or ``place`` (a check-in
within the configured distance of a key place). It is set at ``area_code``: a district, street
or community (a default every grid or place below inherits), one grid (that grid, or the
default of its places), or — with ``key_place_id`` — one key place (``area_code`` is then its
grid's code, so scope filters it like the rest). The most specific plan wins; ``min_count`` 0
exempts what it covers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

SUBJECTS = ("grid", "place")
# A period and the most days with a visit it can hold.
PERIOD_DAYS = {"day": 1, "week": 7, "month": 31}
PERIODS = tuple(PERIOD_DAYS)


class PatrolPlan(Base):
    __tablename__ = "patrol_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(8))
    area_code: Mapped[str] = mapped_column(String(24))
    key_place_id: Mapped[int | None] = mapped_column(ForeignKey("key_place.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))
    min_count: Mapped[int] = mapped_column(SmallInteger)
    updated_by: Mapped[str] = mapped_column(Text, server_default="")
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(f"subject IN {SUBJECTS}", name="subject_known"),
        CheckConstraint(f"period IN {PERIODS}", name="period_known"),
        CheckConstraint("min_count >= 0 AND min_count <= CASE period "
                        + " ".join(f"WHEN '{period}' THEN {days}" for period, days in PERIOD_DAYS.items()) + " END",
                        name="min_count_fits_period"),
        CheckConstraint("subject = 'place' OR key_place_id IS NULL", name="place_plan_names_place"),
        CheckConstraint("area_code ~ '^([0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})$'", name="area_code_digits"),
        Index("ux_patrol_plan_area", "subject", "area_code", unique=True, postgresql_where=text("key_place_id IS NULL")),
        Index("ux_patrol_plan_place", "key_place_id", unique=True, postgresql_where=text("key_place_id IS NOT NULL")),
        Index("ix_patrol_plan_area_code_prefix", "area_code", postgresql_ops={"area_code": "varchar_pattern_ops"}),
    )
