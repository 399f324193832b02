"""Users, API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.db import Base

ROLES = ("admin", "supervisor", "planner", "grid_worker", "party_member", "department")


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    # An area code prefix; "" for a city-wide admin; one grid's code for a grid worker.
    scope_code: Mapped[str] = mapped_column(String(24), server_default="")
    display_name: Mapped[str] = mapped_column(Text, server_default="")
    party_member_id: Mapped[int | None] = mapped_column(ForeignKey("party_member.id", ondelete="SET NULL"))
    # A department user's department (gridmap.departments): its categories bound what they see.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'supervisor', 'planner', 'grid_worker', 'party_member', 'department')",
            name="role_known"
        ),
        # "" or one area's code (gridmap.areas.codes); a grid worker's or party member's a grid's
        CheckConstraint("scope_code ~ '^([0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})?$'", name="scope_digits"),
        CheckConstraint("role NOT IN ('grid_worker', 'party_member') OR length(scope_code) = 15",
                        name="grid_roles_scope_grid"),
        CheckConstraint("role <> 'party_member' OR party_member_id IS NOT NULL", name="party_member_linked"),
        CheckConstraint("(role = 'department') = (department_id IS NOT NULL)", name="department_linked"),
        CheckConstraint("role <> 'department' OR length(scope_code) IN (6, 9)", name="department_scope_area"),
    )


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a leaked table leaks no tokens."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMP(timezone=True))

    __table_args__ = (Index("ix_api_token_user_id", "user_id"),)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_id", "actor_id"),
    )


class LoginFailure(Base):
    """A failed login, counted per account and per address for throttling."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )


class LoginAddress(Base):
    """An account that logged in from this client address, and when last: such pairs are spared
    the per-account and per-address login throttles (gridmap.auth.throttle)."""

    __tablename__ = "login_address"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_success_at: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))

    __table_args__ = (Index("ix_login_address_last_success_at", "last_success_at"),)
