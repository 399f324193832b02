"""The check-in statement writes a batch's keys with a plain INSERT first, and with ON CONFLICT DO
NOTHING when a key was there before (gridmap.patrol.service._checkin): the answers, the rows and
the transaction are the same either way."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text

from gridmap.auth.service import scope_for_token
from gridmap.config import PatrolRules
from gridmap.patrol.keys import add_missing_keys
from gridmap.patrol.service import record_checkins
from tests import factories as f

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _items(n: int, start: int = 0) -> list[dict]:
    return [{"id": str(uuid.uuid4()), "lon": 119.885 + k * 1e-5,
             "lat": 28.455, "accuracy_m": 10, "recorded_at": (NOW - timedelta(minutes=60 - start - k)).isoformat()}
            for k in range(n)]


def _count(db_session, ids) -> int:
    return db_session.execute(text("SELECT count(*) FROM checkin WHERE id = ANY(CAST(:ids AS uuid[]))"),
                              {"ids": ids}).scalar_one()


def test_a_new_batch_then_its_resend_with_new_items(db_session):
    f.lishui(db_session)
    scope = scope_for_token(db_session, f.token_for(db_session, "grid_worker", f.GRID_A, username="keys-worker"))
    rules = PatrolRules()
    first = _items(3)
    answers = record_checkins(db_session, scope, first, rules=rules, now=NOW)
    assert [a["status"] for a in answers] == ["created"] * 3

    more = _items(2, start=10)
    again = record_checkins(db_session, scope, [first[1], *more, first[0]], rules=rules, now=NOW)
    assert [a["status"] for a in again] == ["duplicate", "created", "created", "duplicate"]
    assert again[0] == {**answers[1], "index": 0, "status": "duplicate"}
    assert _count(db_session, [i["id"] for i in first + more]) == 5
    # the transaction goes on after the failed first try: a write in it stays
    last = _items(1, start=20)
    assert record_checkins(db_session, scope, last, rules=rules, now=NOW)[0]["status"] == "created"
    assert _count(db_session, [i["id"] for i in first + more + last]) == 6


def test_a_key_another_worker_stored_is_refused_and_the_rest_written(db_session):
    f.lishui(db_session)
    mine = scope_for_token(db_session, f.token_for(db_session, "grid_worker", f.GRID_A, username="keys-mine"))
    theirs = scope_for_token(db_session, f.token_for(db_session, "grid_worker", f.GRID_A, username="keys-theirs"))
    rules = PatrolRules()
    taken = _items(1)
    record_checkins(db_session, theirs, taken, rules=rules, now=NOW)
    fresh = _items(1, start=5)
    answers = record_checkins(db_session, mine, [*taken, *fresh], rules=rules, now=NOW)
    assert [(a["status"], a.get("http_status")) for a in answers] == [("error", 409), ("created", None)]
    assert _count(db_session, [fresh[0]["id"]]) == 1


def test_a_key_sent_again_at_another_time_answers_its_first_answer(db_session):
    """Only the key meets its twin (the check-in row goes to another month's partition): the
    statement falls back all the same, and nothing more is written."""
    f.lishui(db_session)
    scope = scope_for_token(db_session, f.token_for(db_session, "grid_worker", f.GRID_A, username="keys-moved"))
    rules = PatrolRules()
    first = _items(1)
    answer = record_checkins(db_session, scope, first, rules=rules, now=NOW)[0]
    moved = {**first[0], "recorded_at": (NOW - timedelta(days=40)).isoformat()}
    again = record_checkins(db_session, scope, [moved, *_items(1, start=30)], rules=rules, now=NOW)
    assert [a["status"] for a in again] == ["duplicate", "created"]
    assert again[0] == {**answer, "status": "duplicate"}
    assert _count(db_session, [first[0]["id"]]) == 1


def _without_key(db_session, item_id: str) -> None:
    """As a bulk load left a check-in before migration 0043 (the demo's year): no key."""
    db_session.execute(text("DELETE FROM checkin_key WHERE id = CAST(:id AS uuid)"), {"id": item_id})


def _key(db_session, item_id: str):
    return db_session.execute(text("SELECT user_id, rank, grid, grid_name FROM checkin_key WHERE id = CAST(:id AS uuid)"),
                              {"id": item_id}).one_or_none()


def test_a_check_in_stored_without_its_key_and_sent_again_is_kept_once(db_session):
    """Same time: the row is there (same partition), so the key is written and the row kept; no 500."""
    f.lishui(db_session)
    scope = scope_for_token(db_session, f.token_for(db_session, "grid_worker", f.GRID_A, username="keys-stray"))
    rules = PatrolRules()
    stray = _items(1)
    record_checkins(db_session, scope, stray, rules=rules, now=NOW)
    _without_key(db_session, stray[0]["id"])
    again = record_checkins(db_session, scope, [*stray, *_items(1, start=5)], rules=rules, now=NOW)
    assert [a["status"] for a in again] == ["created", "created"]
    assert _count(db_session, [stray[0]["id"]]) == 1 and _key(db_session, stray[0]["id"]) is not None


def test_missing_keys_are_written_from_the_rows_and_then_hold_the_id(db_session):
    """gridmap.patrol.keys (the demo's year) and migration 0043 (what was loaded before): the key
    says what the row says, and the id sent again in another month is not stored twice."""
    f.lishui(db_session)
    scope = scope_for_token(db_session, f.token_for(db_session, "grid_worker", f.GRID_A, username="keys-bulk"))
    rules = PatrolRules()
    loaded = _items(2)
    first = record_checkins(db_session, scope, loaded, rules=rules, now=NOW)
    for item in loaded:
        _without_key(db_session, item["id"])
    assert add_missing_keys(db_session, [scope.user_id], NOW - timedelta(minutes=59, seconds=30)) == 1  # the later one
    _migration_0043(db_session)  # and the earlier one
    for item, answer in zip(loaded, first, strict=True):
        assert _key(db_session, item["id"]) == (scope.user_id, 0, answer["grid"], answer["grid_name"])
    moved = {**loaded[0], "recorded_at": (NOW - timedelta(days=40)).isoformat()}
    again = record_checkins(db_session, scope, [moved], rules=rules, now=NOW)[0]
    assert again == {**first[0], "status": "duplicate"}
    assert _count(db_session, [loaded[0]["id"]]) == 1


def _migration_0043(db_session) -> None:
    spec = importlib.util.spec_from_file_location("m0043", MIGRATIONS / "0043_checkin_keys_for_stored_checkins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Operations.context(MigrationContext.configure(db_session.connection())):
        module.upgrade()
