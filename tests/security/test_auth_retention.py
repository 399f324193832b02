"""``auth-retention``: the audit log is pruned past its own period (a row at the cut-off
stays), expired or revoked API tokens and stale failed logins go, everything newer stays."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from gridmap.auth import retention
from gridmap.auth.models import ApiToken, AuditLog, LoginFailure, User
from gridmap.auth.retention import audit_cutoff, prune
from gridmap.auth.throttle import KEEP_FAILURES
from tests import factories as f

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # 36 months back is 2023-03-31 12:00
TICK = timedelta(microseconds=1)


@pytest.fixture(autouse=True)
def empty_tables(db_session):
    """The three tables without what other tests committed for real (rolled back after the test)."""
    for model in (AuditLog, ApiToken, LoginFailure):
        db_session.execute(delete(model))
    db_session.commit()


def _audit(session, name: str, at: datetime) -> None:
    session.add(AuditLog(actor_name="admin", action=name, object_type="household", object_id="1", at=at))


def _token(session, user: User, name: str, expires_at: datetime, revoked_at: datetime | None = None) -> None:
    session.add(ApiToken(user_id=user.id, token_sha256=hashlib.sha256(name.encode()).hexdigest(),
                         expires_at=expires_at, revoked_at=revoked_at))


def _left(session, column) -> set[str]:
    session.expire_all()
    return set(session.scalars(select(column)))


def test_prune_keeps_the_period_and_drops_what_is_older(db_session):
    cutoff = audit_cutoff(36, NOW)
    assert cutoff == datetime(2023, 3, 31, 12, 0, tzinfo=UTC)
    for name, at in {"ancient": NOW - timedelta(days=3650), "just_older": cutoff - TICK, "at_cutoff": cutoff,
                     "just_newer": cutoff + TICK, "today": NOW}.items():
        _audit(db_session, name, at)
    user = User(username="retention-user", password_hash="!", role="admin", scope_code="")
    db_session.add(user)
    db_session.flush()
    for name, expires, revoked in [("expired", NOW - timedelta(hours=1), None), ("expires_now", NOW, None),
                                   ("live", NOW + TICK, None), ("revoked", NOW + timedelta(hours=5), NOW),
                                   ("live_long", NOW + timedelta(hours=12), None)]:
        _token(db_session, user, name, expires, revoked)
    for name, at in {"stale": NOW - KEEP_FAILURES - TICK, "at_edge": NOW - KEEP_FAILURES,
                     "recent": NOW - timedelta(minutes=1)}.items():
        db_session.add(LoginFailure(username=name, address="10.0.0.1", at=at))
    db_session.commit()

    assert prune(db_session, 36, now=NOW) == {"audit": 2, "tokens": 3, "login_failures": 1}
    assert _left(db_session, AuditLog.action) == {"at_cutoff", "just_newer", "today"}
    assert _left(db_session, ApiToken.token_sha256) == {hashlib.sha256(n.encode()).hexdigest()
                                                        for n in ("live", "live_long")}
    assert _left(db_session, LoginFailure.username) == {"at_edge", "recent"}
    assert prune(db_session, 36, now=NOW) == {"audit": 0, "tokens": 0, "login_failures": 0}


def test_a_longer_period_keeps_more_and_the_floor_is_36_months(db_session):
    _audit(db_session, "four_years", NOW - timedelta(days=4 * 365))
    db_session.commit()
    assert prune(db_session, 60, now=NOW)["audit"] == 0
    with pytest.raises(ValueError):
        prune(db_session, 35, now=NOW)
    assert prune(db_session, 36, now=NOW)["audit"] == 1


def test_a_long_backlog_goes_in_batches(db_session, monkeypatch):
    monkeypatch.setattr(retention, "AUDIT_BATCH", 2)
    for day in range(5):
        _audit(db_session, f"old-{day}", NOW - timedelta(days=2000 + day))
    _audit(db_session, "kept", NOW)
    db_session.commit()
    assert prune(db_session, 36, now=NOW)["audit"] == 5
    assert _left(db_session, AuditLog.action) == {"kept"}


def test_a_live_token_still_signs_in_after_retention(client, db_session):
    token = f.token_for(db_session, "admin")
    db_session.commit()
    prune(db_session, 36)
    assert client.get("/api/v1/areas", headers=f.auth(token)).status_code == 200


def test_the_command(app, db_session):
    _audit(db_session, "ancient", datetime.now(UTC) - timedelta(days=3650))
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["auth-retention"])
    assert result.exit_code == 0, result.output
    assert "审计日志：删除 1 条 36 个月以前的记录" in result.output
    refused = app.test_cli_runner().invoke(args=["auth-retention", "--keep-months", "12"])
    assert refused.exit_code != 0 and "至少保留 36 个月" in refused.output
