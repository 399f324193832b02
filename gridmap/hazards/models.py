"""Hazards (隐患/问题), their events, the category catalogue, deadline rules and the
official holiday list an administrator loads for years chinese_calendar does not know."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

SEVERITIES = ("normal", "complex", "urgent")
# whistled: sent to the owning departments (吹哨, gridmap.departments), until all of them fed back.
STATUSES = ("reported", "accepted", "assigned", "in_progress", "whistled", "feedback", "verified", "closed",
            "rejected")
OPEN_STATUSES = ("reported", "accepted", "assigned", "in_progress", "whistled", "feedback")
LEVELS = ("grid", "community", "street", "district")
# How a closed hazard was solved, when not along the loop: on_the_spot (就地解决) — found and
# fixed in one step by a grid worker, with photos before and after.
ON_THE_SPOT = "on_the_spot"
RESOLUTIONS = (ON_THE_SPOT,)
PHOTO_STAGES = ("before", "after")
SOURCES = ("staff", "resident")
# 回访: the reporter's answer after verification, and how it was given.
ANSWERS = ("satisfied", "basically_satisfied", "dissatisfied")
SATISFIED = ("satisfied", "basically_satisfied")
CHANNELS = ("phone", "status_page")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class HazardCategory(Base):
    """The configurable catalogue (治安, 消防, ...)."""

    __tablename__ = "hazard_category"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    sort_order: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")


class HazardDeadlineRule(Base):
    """Deadlines per severity, optionally per category (a category's own rule wins).

    Each deadline is either in working days or in clock hours (urgent: 1 hour)."""

    __tablename__ = "hazard_deadline_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str | None] = mapped_column(
        ForeignKey("hazard_category.code", ondelete="CASCADE", onupdate="CASCADE"))
    severity: Mapped[str] = mapped_column(String(16))
    accept_working_days: Mapped[int | None] = mapped_column(SmallInteger)
    accept_hours: Mapped[int | None] = mapped_column(SmallInteger)
    resolve_working_days: Mapped[int | None] = mapped_column(SmallInteger)
    resolve_hours: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        UniqueConstraint("category_code", "severity"),
        CheckConstraint(_in("severity", SEVERITIES), name="severity_known"),
        CheckConstraint("(accept_working_days IS NULL) <> (accept_hours IS NULL)", name="accept_one_unit"),
        CheckConstraint("(resolve_working_days IS NULL) <> (resolve_hours IS NULL)", name="resolve_one_unit"),
        CheckConstraint("coalesce(accept_working_days, accept_hours) > 0 AND "
                        "coalesce(resolve_working_days, resolve_hours) > 0", name="positive"),
    )


class Hazard(Base):
    __tablename__ = "hazard"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    category_code: Mapped[str] = mapped_column(
        ForeignKey("hazard_category.code", ondelete="RESTRICT", onupdate="CASCADE"))
    severity: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, server_default="")
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id", ondelete="SET NULL"))
    grid_version: Mapped[int] = mapped_column(Integer)
    # The grid's code at report time: scope filters and (later) sharding use the code prefix.
    grid_code: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), server_default="reported")
    level: Mapped[str] = mapped_column(String(12), server_default="grid")
    accept_by: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))
    resolve_by: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))
    # "official" or "fallback" (weekends only): the calendar the deadlines were computed on.
    calendar: Mapped[str] = mapped_column(String(8), server_default="official")
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    accepted_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    # The phone's id of the report (its offline outbox) and the SHA-256 of the request it came
    # with: a re-sent report is answered with this one, the same id with another request refused.
    client_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    client_digest: Mapped[str | None] = mapped_column(String(64))
    # NULL along the loop; "on_the_spot" for a problem fixed where it was found (cleared on reopen).
    resolution: Mapped[str | None] = mapped_column(String(16))
    # Who reported it: grid staff, or a resident through the public form (gridmap.public).
    source: Mapped[str] = mapped_column(String(16), server_default="staff")
    # A resident who left a phone waits for a 回访 answer before the item closes (gridmap.public sets it).
    revisit_required: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # The community's reply to a resident, written at verification or closing; the status page shows it.
    public_reply: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(_in("severity", SEVERITIES), name="severity_known"),
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint(f"resolution IS NULL OR ({_in('resolution', RESOLUTIONS)} AND status = 'closed')",
                        name="resolution_known"),
        CheckConstraint(_in("source", SOURCES), name="source_known"),
        CheckConstraint(_in("level", LEVELS), name="level_known"),
        CheckConstraint("calendar IN ('official', 'fallback')", name="calendar_known"),
        CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)", name="geom_valid"),
        CheckConstraint("grid_code ~ '^[0-9]{13,24}$'", name="grid_code_digits"),
        Index("ix_hazard_geom", "geom", postgresql_using="gist"),
        Index("ix_hazard_grid_code_prefix", "grid_code", postgresql_ops={"grid_code": "varchar_pattern_ops"}),
        Index("ix_hazard_status_resolve_by", "status", "resolve_by"),
        Index("ix_hazard_created_at", "created_at"),
        Index("ix_hazard_grid_id", "grid_id"),
        Index("ix_hazard_assignee_id", "assignee_id"),
        Index("ux_hazard_client_id", "client_id", unique=True),
        # A supervisor's sample of the fixes made on the spot in their area.
        Index("ix_hazard_on_the_spot", "grid_code", postgresql_ops={"grid_code": "varchar_pattern_ops"},
              postgresql_where=text("resolution IS NOT NULL")),
    )


class HazardEvent(Base):
    """One step of the loop: who did what, when, from which status to which. A ``supervise``
    (督办) row is a supervisor's note that changes no status (from = to); the inbox finds those
    about the items assigned to a user by the partial index on (action, at)."""

    __tablename__ = "hazard_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    note: Mapped[str] = mapped_column(Text, server_default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")

    __table_args__ = (
        Index("ix_hazard_event_hazard_id_at", "hazard_id", "at"),
        Index("ix_hazard_event_supervise_at", "at", "hazard_id", postgresql_where=text("action = 'supervise'")),
    )


class HazardRevisit(Base):
    """One 回访 answer: the reporter's 满意 / 基本满意 / 不满意 to the verification made at
    ``verified_at`` (one answer per verification: unique), by a staff phone call or on the
    resident's status page (no actor), with the note or the resident's comment."""

    __tablename__ = "hazard_revisit"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id", ondelete="CASCADE"))
    verified_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))
    answer: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, server_default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("hazard_id", "verified_at"),
        CheckConstraint(_in("answer", ANSWERS), name="answer_known"),
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        Index("ix_hazard_revisit_at", "at"),
    )


class OfficialHoliday(Base):
    """Days of an admin-loaded year that differ from Mon–Fri: holidays and 调休 make-up workdays.

    A year with any row here is taken from this table, before chinese_calendar."""

    __tablename__ = "official_holiday"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(Text, server_default="")
    source: Mapped[str] = mapped_column(Text, server_default="")
    loaded_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())


class HazardPhoto(Base):
    """A photo of a hazard, re-encoded without EXIF (no location, no camera data).

    The bytes live in the database (bytea, TOASTed out of line): one backup, one
    transaction with the hazard, nothing on an app server's disk, and the hazard's
    scope applies by the join. ``sha256`` is the stored (stripped) file's checksum,
    ``original_sha256`` the upload's, so a re-sent photo is recognised."""

    __tablename__ = "hazard_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id", ondelete="CASCADE"))
    n: Mapped[int] = mapped_column(SmallInteger)
    content_type: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    original_sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    client_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))  # the phone's id of this upload
    # "before" / "after" the fix for a problem solved on the spot; NULL for other photos.
    stage: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (
        UniqueConstraint("hazard_id", "n"),
        Index("ux_hazard_photo_client_id", "hazard_id", "client_id", unique=True),
        CheckConstraint(f"stage IS NULL OR {_in('stage', PHOTO_STAGES)}", name="stage_known"),
        UniqueConstraint("hazard_id", "original_sha256"),
        CheckConstraint("content_type IN ('image/jpeg', 'image/png')", name="content_type_known"),
        CheckConstraint("n > 0 AND size = octet_length(data) AND sha256 ~ '^[0-9a-f]{64}$'", name="consistent"),
    )


class HazardDailyCell(Base):
    """The heatmap's daily pre-aggregation: hazards reported per Beijing day, grid, category
    and fine cell (``ix``, ``iy`` = round(lon, lat / FINE_CELL); see hazards/heatmap.py).
    Kept current on every report and rebuilt for a range of days by ``hazard-heatmap-refresh``."""

    __tablename__ = "hazard_daily_cell"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(24), primary_key=True)
    category_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    ix: Mapped[int] = mapped_column(Integer, primary_key=True)
    iy: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class HazardHeatLevel(Base):
    """A level of the heatmap's zoom pyramid: the zoom and its cell side in degrees (the size
    ``heatmap.cell_size`` picks at that zoom). Read by the rollup trigger and the rebuild."""

    __tablename__ = "hazard_heat_level"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    size: Mapped[float] = mapped_column(Float)

    __table_args__ = (CheckConstraint("size > 0", name="size_positive"),)


class HazardHeatRollup(Base):
    """The heatmap's zoom pyramid: hazards per level, period (``y``: Beijing year, ``m``: month,
    ``d``: day — up to level ``heatmap.DAY_LEVEL_MAX`` only —, each by its first day), street (first 9
    digits of the grid code, for scopes), category ('' = all categories) and cell (``ix``, ``iy`` =
    ST_SnapToGrid index at the level's size).

    Kept by statement-level triggers on ``hazard`` (insert, delete, and updates of the counted
    fields) and rebuilt by ``hazard-heatmap-refresh``; see hazards/heatmap.py."""

    __tablename__ = "hazard_heat_rollup"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    period_kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    category_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    street: Mapped[str] = mapped_column(String(9), primary_key=True)
    ix: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    iy: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # Covering (INCLUDE n): a view is an index-only scan of its level, kind, category and periods.
        PrimaryKeyConstraint("level", "period_kind", "category_code", "period", "street", "ix", "iy",
                             postgresql_include=["n"]),
        CheckConstraint("period_kind IN ('y', 'm', 'd')", name="period_kind_known"),
    )
