"""Rate limits of the public form, kept in PostgreSQL as login throttling is
(gridmap.auth.throttle), so every worker and machine counts the same: at most
``per_address`` reports from one client address and ``per_phone`` with one phone number within
the window. Counted are accepted reports only (a refused one writes nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gridmap.config import Settings
from gridmap.errors import RateLimited
from gridmap.public.models import PublicHit


@dataclass(frozen=True)
class Limits:
    per_address: int
    per_phone: int
    window: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.public_reports_per_address, settings.public_reports_per_phone,
                   timedelta(minutes=settings.public_window_minutes))


def _count(session: Session, kind: str, key: str, since: datetime) -> int:
    return session.scalar(select(func.count()).select_from(PublicHit)
                          .where(PublicHit.kind == kind, PublicHit.key == key, PublicHit.at > since))


def check(session: Session, limits: Limits, address: str, phone: str | None) -> None:
    """429 ``public_rate_limited`` when this address or this phone has reported its share."""
    since = datetime.now(UTC) - limits.window
    if _count(session, "address", address[:64], since) >= limits.per_address or \
            (phone and _count(session, "phone", phone, since) >= limits.per_phone):
        seconds = int(limits.window.total_seconds())
        raise RateLimited("public_rate_limited", details={"retry_after_s": seconds}, retry_after=seconds)


def record(session: Session, limits: Limits, address: str, phone: str | None) -> None:
    """Count one report (in the caller's transaction) and forget hits older than the window."""
    now = datetime.now(UTC)
    session.add(PublicHit(kind="address", key=address[:64], at=now))
    if phone:
        session.add(PublicHit(kind="phone", key=phone, at=now))
    session.execute(delete(PublicHit).where(PublicHit.at < now - limits.window))
