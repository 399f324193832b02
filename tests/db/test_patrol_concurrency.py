"""Eight phones (or one phone retrying eight times) send the same check-in at once:
the database's unique key decides — exactly one row, exactly one ``created``.

This test commits real data: each request runs on its own pooled connection (the
``db_session`` fixture would put them all on one), and everything is deleted after.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from tests import factories as f


def _cleanup(database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM checkin WHERE user_id IN (SELECT id FROM app_user WHERE username = 'concurrent')"))
        connection.execute(text("DELETE FROM checkin_key WHERE user_id IN (SELECT id FROM app_user WHERE username = 'concurrent')"))
        connection.execute(text("DELETE FROM app_user WHERE username = 'concurrent'"))  # tokens cascade
        connection.execute(text("DELETE FROM grid WHERE code LIKE '331102%'"))  # versions cascade
        connection.execute(text("DELETE FROM admin_unit WHERE code LIKE '331102%' AND length(code) = 12"))
        connection.execute(text("DELETE FROM admin_unit WHERE code LIKE '331102%' AND length(code) = 9"))
        connection.execute(text("DELETE FROM admin_unit WHERE code = '331102'"))


def test_eight_concurrent_resends_store_one_row(app):
    database = app.extensions["gridmap.db"]
    session = database.session()
    try:
        f.lishui(session)
        token = f.token_for(session, "grid_worker", f.GRID_A, username="concurrent")
        session.commit()
        session.close()

        item = {"id": str(uuid.uuid4()), "lon": 119.885, "lat": 28.455, "accuracy_m": 8,
                "recorded_at": datetime.now(UTC).isoformat(), "note": "同一条打卡"}
        barrier = threading.Barrier(8)
        answers: list[tuple[int, dict]] = []
        lock = threading.Lock()

        def send() -> None:
            client = app.test_client()
            barrier.wait()
            response = client.post("/api/v1/checkins", json=item, headers=f.auth(token))
            with lock:
                answers.append((response.status_code, response.get_json()))

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert len(answers) == 8
        statuses = sorted(body["status"] for _, body in answers)
        assert statuses == ["created"] + ["duplicate"] * 7, answers
        assert sorted(code for code, _ in answers) == [200] * 7 + [201]
        # Every sender got the same first answer.
        assert len({(b["grid"], b["in_own_grid"], tuple(b["flags"])) for _, b in answers}) == 1
        with database.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM checkin WHERE id = :id"), {"id": item["id"]}) == 1
            assert connection.scalar(text("SELECT count(*) FROM checkin_key WHERE id = :id"), {"id": item["id"]}) == 1
    finally:
        session.close()
        _cleanup(database)
