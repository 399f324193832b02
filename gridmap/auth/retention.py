"""Retention of the accounts' own records (``auth-retention``, run daily from cron).

- The audit log of personal-data reads is kept ``GRIDMAP_AUDIT_KEEP_MONTHS`` (default and
  floor 36): the Personal Information Protection Law (art. 56) has records of processing
  kept at least three years, long past the six months of network logs the Cybersecurity Law
  (art. 21) asks for, and a complaint about who looked at a 社区矫正 record can come years
  later. A row exactly at the cut-off stays; older rows go, in batches (one transaction each).
- API tokens go once expired or revoked (expiry inclusive, as sign-in checks it): they open
  nothing any more.
- Failed logins go once older than the throttle needs them (``throttle.KEEP_FAILURES``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from gridmap.auth.models import ApiToken, AuditLog, LoginFailure
from gridmap.auth.throttle import KEEP_FAILURES
from gridmap.db import transaction

AUDIT_KEEP_MONTHS_MIN = 36
AUDIT_BATCH = 10_000  # rows per transaction, so a first run over years of log holds no long lock


def audit_cutoff(keep_months: int, now: datetime) -> datetime:
    """Audit rows strictly older than this go."""
    return now - relativedelta(months=keep_months)


def prune(session: Session, audit_keep_months: int, now: datetime | None = None) -> dict[str, int]:
    """Delete audit rows past their period, expired or revoked tokens and old login failures;
    returns how many of each."""
    if audit_keep_months < AUDIT_KEEP_MONTHS_MIN:
        raise ValueError(f"the audit log is kept at least {AUDIT_KEEP_MONTHS_MIN} months")
    now = now or datetime.now(UTC)
    cutoff = audit_cutoff(audit_keep_months, now)
    audit = 0
    while True:
        with transaction(session):
            batch = select(AuditLog.id).where(AuditLog.at < cutoff).limit(AUDIT_BATCH).scalar_subquery()
            deleted = session.execute(delete(AuditLog).where(AuditLog.id.in_(batch))).rowcount
        audit += deleted
        if deleted < AUDIT_BATCH:
            break
    with transaction(session):
        tokens = session.execute(delete(ApiToken).where(
            or_(ApiToken.expires_at <= now, ApiToken.revoked_at.is_not(None)))).rowcount
        failures = session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP_FAILURES)).rowcount
    return {"audit": audit, "tokens": tokens, "login_failures": failures}
