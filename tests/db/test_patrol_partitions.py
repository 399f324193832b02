"""Check-ins are partitioned by month: partitions ahead, the DEFAULT catch-all, retention."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text

from gridmap.auth.service import create_user
from gridmap.patrol.partitions import drop_old_partitions, ensure_partitions, list_partitions


def _user(db_session) -> int:
    return create_user(db_session, "xunjian", "test-password-1", "grid_worker", "331102001001001").id


def _insert(db_session, user_id: int, recorded_at: str) -> uuid.UUID:
    cid = uuid.uuid4()
    db_session.execute(text(
        "INSERT INTO checkin (id, recorded_at, user_id, geom, accuracy_m)"
        " VALUES (:id, :at, :u, ST_SetSRID(ST_MakePoint(119.885, 28.455), 4326), 10)"),
        {"id": cid, "at": recorded_at, "u": user_id})
    db_session.execute(text(
        "INSERT INTO checkin_key (id, user_id, recorded_at, answer) VALUES (:id, :u, :at, '{}')"),
        {"id": cid, "at": recorded_at, "u": user_id})
    return cid


def _partition_of(db_session, cid: uuid.UUID) -> str:
    return db_session.scalar(text("SELECT tableoid::regclass::text FROM checkin WHERE id = :id"), {"id": cid})


def _names(db_session) -> set[str]:
    return {p["name"] for p in list_partitions(db_session)}


def test_migration_prepares_this_month_and_the_next(db_session):
    names = _names(db_session)
    assert "checkin_default" in names
    today = db_session.scalar(text("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date"))
    assert f"checkin_y{today:%Y}m{today:%m}" in names
    assert len(names) >= 5
    indexes = db_session.scalars(text(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'checkin_part'"
        f" AND tablename = 'checkin_y{today:%Y}m{today:%m}'")).all()
    assert any("(user_id, recorded_at)" in ix for ix in indexes)
    assert not any("USING gist" in ix for ix in indexes)  # dropped by 0014: no query uses it


def test_partitions_are_created_ahead_once_and_take_waiting_rows(app, db_session):
    user_id = _user(db_session)
    early = _insert(db_session, user_id, "2031-07-20T10:00:00+08:00")
    assert _partition_of(db_session, early) == "checkin_part.checkin_default"

    created = ensure_partitions(db_session, months_ahead=2, today=date(2031, 5, 10))
    assert created == ["checkin_y2031m05", "checkin_y2031m06", "checkin_y2031m07"]
    assert ensure_partitions(db_session, months_ahead=2, today=date(2031, 5, 31)) == []
    # The row that waited in the DEFAULT partition moved into its month.
    assert _partition_of(db_session, early) == "checkin_part.checkin_y2031m07"
    # Month bounds are China's: 2031-05-31 23:30 in Beijing is still May.
    late_may = _insert(db_session, user_id, "2031-05-31T23:30:00+08:00")
    assert _partition_of(db_session, late_may) == "checkin_part.checkin_y2031m05"

    result = app.test_cli_runner().invoke(args=["patrol-partitions", "--months-ahead", "1"])
    assert result.exit_code == 0, result.output
    assert "巡查打卡分区" in result.output


def test_retention_drops_old_months_only(app, db_session):
    user_id = _user(db_session)
    ensure_partitions(db_session, months_ahead=0, today=date(2030, 1, 1))
    ensure_partitions(db_session, months_ahead=0, today=date(2030, 2, 1))
    old = _insert(db_session, user_id, "2030-01-15T09:00:00+08:00")
    kept = _insert(db_session, user_id, "2030-02-15T09:00:00+08:00")
    ancient = _insert(db_session, user_id, "2001-03-01T09:00:00+08:00")  # in the DEFAULT partition

    dropped = drop_old_partitions(db_session, keep_months=24, today=date(2032, 2, 10))
    assert "checkin_y2030m01" in dropped and "checkin_y2030m02" not in dropped
    names = _names(db_session)
    assert "checkin_y2030m01" not in names and "checkin_y2030m02" in names
    remaining = set(db_session.scalars(text("SELECT id FROM checkin")))
    assert kept in remaining and old not in remaining and ancient not in remaining
    keys = set(db_session.scalars(text("SELECT id FROM checkin_key")))
    assert kept in keys and old not in keys and ancient not in keys

    result = app.test_cli_runner().invoke(args=["patrol-retention", "--keep-months", "0"])
    assert result.exit_code != 0
