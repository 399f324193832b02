"""The check-in statement is prepared once per connection and run with its generic
plan, which PostgreSQL keeps until the tables' statistics change. A plan made while
``checkin_key`` was empty (a new database, before autovacuum's first ANALYZE) must
still be right when the table has grown: stored answers are read by the primary key,
never by scanning ``checkin_key`` (a scan grew with every row: the "empty table slower
than the big one" of the checkins bench); and however many months are kept, only the
batch's own are searched for the previous check-in.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from gridmap.patrol.service import CHECKIN_SQL, CHECKIN_TYPES, Prepared
from tests import factories as f


def test_generic_plan_made_on_an_empty_key_table_reads_keys_by_index(db_session):
    f.lishui(db_session)
    assert db_session.scalar(text("SELECT count(*) FROM checkin_key")) == 0
    statement = Prepared("test_checkin_plan", CHECKIN_SQL, CHECKIN_TYPES)
    db_session.execute(text(statement.prepare.replace(":", r"\:")))
    set_generic, execute = statement.execute.text.split("; ")
    db_session.execute(text(set_generic))
    now = datetime.now(UTC)
    items = [{"idx": 0, "id": str(uuid.uuid4()), "at": now.isoformat(), "lon": 119.885,
              "lat": 28.455, "acc": 10.0, "household_id": None, "household_code": None, "note": "",
              "low": False, "future": False, "stale": False}]
    plan = "\n".join(db_session.scalars(text("EXPLAIN (COSTS off) " + execute), {
        "items": json.dumps(items), "own": f.GRID_A, "max_speed_ms": 33.3, "user_id": 1,
        "since": now - timedelta(days=7), "until": now, "now": now}))
    db_session.execute(text("DEALLOCATE test_checkin_plan"))
    assert "checkin_key" in plan
    assert "Seq Scan on checkin_key" not in plan, plan
    # the previous check-in is searched in the batch's months only: the months ahead are
    # pruned when the statement starts (a parameter), not opened for every item
    assert "Subplans Removed" in plan, plan
