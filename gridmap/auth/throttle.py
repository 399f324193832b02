"""Login throttling per account and per client address, kept in the database so
every worker and every machine sees the same counts (the app holds no state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from gridmap.auth.models import LoginFailure
from gridmap.db import transaction
from gridmap.errors import RateLimited

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20
KEEP_FAILURES = 2 * WINDOW  # older failures count for nothing and are deleted


def check(session: Session, username: str, address: str) -> None:
    """429 when the account or the address has failed too often in the window."""
    since = datetime.now(UTC) - WINDOW
    by_account, by_address = session.execute(
        select(
            func.count().filter(LoginFailure.username == username),
            func.count().filter(LoginFailure.address == address),
        ).where(LoginFailure.at > since, or_(LoginFailure.username == username, LoginFailure.address == address))
    ).one()
    if by_account >= MAX_PER_ACCOUNT or by_address >= MAX_PER_ADDRESS:
        raise RateLimited("rate_limited", details={"retry_after_s": int(WINDOW.total_seconds())})


def record_failure(session: Session, username: str, address: str) -> None:
    with transaction(session):
        session.add(LoginFailure(username=username[:64], address=address[:64]))
        session.execute(delete(LoginFailure).where(LoginFailure.at < datetime.now(UTC) - KEEP_FAILURES))


def clear(session: Session, username: str) -> None:
    with transaction(session):
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
