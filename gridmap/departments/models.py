"""Functional departments (城管, 交警, 消防…), the routing rules that send a category of problem in
an area to them (分类归口交办), and the assignments a 吹哨 (whistle) creates: one row per hazard
and department, with its 报到 (report-for-duty) deadline, its 报到 and its feedback."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base


class Department(Base):
    """A department; ``categories``: the hazard categories it owns (what its users may see)."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    categories: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    sort_order: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")

    __table_args__ = (CheckConstraint("code ~ '^[a-z][a-z0-9_]{0,31}$'", name="code_format"),)


class DepartmentRoute(Base):
    """Category × area prefix → department: the longest prefix matching a hazard's grid wins
    (every department of that prefix gets the whistle). ``report_working_days``: the 报到
    deadline for this rule (else the setting GRIDMAP_DUTY_REPORT_WORKING_DAYS)."""

    __tablename__ = "department_route"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("hazard_category.code", ondelete="CASCADE"))
    area_prefix: Mapped[str] = mapped_column(String(15), server_default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text, server_default="")
    report_working_days: Mapped[int | None] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("category_code", "area_prefix", "department_id"),
        CheckConstraint("area_prefix ~ '^([0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})?$'", name="area_prefix_digits"),
        CheckConstraint("report_working_days IS NULL OR report_working_days BETWEEN 0 AND 30",
                        name="report_days_range"),
    )


class HazardAssignment(Base):
    """A hazard sent to a department (吹哨): 报到 due by ``report_by``; ``reported_at`` when it did;
    ``fed_back_at`` with ``feedback`` when it acted; ``escalated_at`` when the overdue sweep
    raised a missed 报到 into the hazard's history. ``open`` until the department fed back."""

    __tablename__ = "hazard_assignment"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="RESTRICT"))
    whistled_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))
    whistled_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    report_by: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))
    calendar: Mapped[str] = mapped_column(String(8), server_default="official")
    reported_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    fed_back_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    fed_back_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    feedback: Mapped[str] = mapped_column(Text, server_default="")
    escalated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))

    __table_args__ = (
        CheckConstraint("calendar IN ('official', 'fallback')", name="calendar_known"),
        CheckConstraint("fed_back_at IS NULL OR reported_at IS NOT NULL", name="report_before_feedback"),
        Index("ix_hazard_assignment_hazard_id", "hazard_id"),
        # one open assignment per hazard and department; the queue reads a department's open ones
        Index("ux_hazard_assignment_open", "hazard_id", "department_id", unique=True,
              postgresql_where=text("fed_back_at IS NULL")),
        Index("ix_hazard_assignment_department_open", "department_id", "report_by",
              postgresql_where=text("fed_back_at IS NULL")),
    )
