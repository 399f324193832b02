"""The check-in statement is prepared once per connection and run with its generic
plan, which PostgreSQL keeps until the tables' statistics change. So it must not read
``checkin_key`` (the one table that only grows): a read planned while it was empty or
tiny is a scan, kept as the table grows (the "empty table slower than the big one" of
the checkins bench). Stored answers are read by a separate, planned-each-time statement
only for re-sends. And however many months are kept, only the batch's own are searched
for the previous check-ins, once for the whole batch.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gridmap.db import Prepared
from gridmap.patrol.service import CHECKIN, CHECKIN_NEW_KEYS
from tests import factories as f

# both statements the service sends: for a batch of new keys, and when one was there before
STATEMENTS = pytest.mark.parametrize("sent", [CHECKIN_NEW_KEYS, CHECKIN], ids=["new_keys", "any_keys"])


def _plan(db_session, sent: Prepared, explain: str, user_id: int) -> str:
    """EXPLAIN (``explain``) of one check-in as the service sends it: the statement prepared,
    its settings, then its call in the driver's parameter style."""
    statement = Prepared("test_checkin_plan", sent.sql, sent.types, sent.settings)
    db_session.execute(text(statement.prepare.replace(":", r"\:")))
    for setting in statement.settings:
        db_session.execute(text(setting))
    now = datetime.now(UTC)
    items = [{"id": str(uuid.uuid4()), "at": now.isoformat(), "lon": 119.885,
              "lat": 28.455, "acc": 10.0, "household_id": None, "household_code": None, "note": "",
              "low": False, "future": False, "stale": False}]
    plan = "\n".join(db_session.connection().exec_driver_sql(f"EXPLAIN ({explain}) " + statement.call, {
        "items": json.dumps(items), "own": f.GRID_A, "max_speed_ms": 33.3, "user_id": user_id, "first": now,
        "since": now - timedelta(days=7), "until": now, "now": now}).scalars())
    db_session.execute(text("DEALLOCATE test_checkin_plan"))
    return plan


@STATEMENTS
def test_prepared_checkin_statement_reads_no_key_and_prunes_months_at_start(db_session, sent):
    f.lishui(db_session)
    assert db_session.scalar(text("SELECT count(*) FROM checkin_key")) == 0
    db_session.execute(text("ANALYZE checkin"))  # statistics of nearly empty months, as at a month's start
    plan = _plan(db_session, sent, "COSTS off", user_id=1)
    assert "Insert on checkin_key" in plan
    assert "Scan on checkin_key" not in plan and "Scan using pk_checkin_key" not in plan, plan
    # the stored check-ins are searched in the batch's months only: the months ahead are
    # pruned when the statement starts (parameters), and each month is read once for the
    # whole batch (no lookup repeated item after item)
    assert "Subplans Removed" in plan, plan
    lines = plan.splitlines()
    scans = [k for k, line in enumerate(lines) if " on checkin_y" in line]
    assert scans and all("_user_id_recorded_at_idx on " in lines[k] for k in scans), plan
    conditions = [lines[k + 1].strip() for k in scans]
    for condition in conditions:  # by the statement's parameters only, not by an item's time
        assert re.match(r"Index Cond: ", condition) and "$" in condition, plan
        assert not re.search(r"\b\w+\.\w+", condition), plan
    # planned while the month is nearly empty (as here), the plan is kept as it grows:
    # never a sequential scan of a month
    assert "Seq Scan on checkin" not in plan, plan


@STATEMENTS
def test_prepared_checkin_statement_is_never_jit_compiled(db_session, sent):
    """LLVM compiles a plan whose estimate passes jit_above_cost at every run (~100 ms, a
    batch of 500 runs in ~15 ms): the check-in statement turns JIT off for itself, even
    where the server would compile every plan."""
    f.lishui(db_session)
    f.token_for(db_session, "grid_worker", f.GRID_A, username="jit-worker")
    user_id = db_session.scalar(text("SELECT id FROM app_user WHERE username = 'jit-worker'"))
    db_session.execute(text("SET LOCAL jit = on"))
    db_session.execute(text("SET LOCAL jit_above_cost = 0"))
    plan = _plan(db_session, sent, "ANALYZE", user_id=user_id)  # EXPLAIN shows JIT with the costs only
    assert "Insert on checkin" in plan and "JIT" not in plan, plan
