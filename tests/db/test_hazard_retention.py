"""Finished hazards lose their personal data after the retention period; statistics stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from gridmap.hazards.models import Hazard, HazardEvent, HazardPhoto
from gridmap.hazards.retention import redact_finished
from tests.api.test_hazards_api import _drive, _report, world  # noqa: F401  (fixture)


def _photo(db_session, hazard_id: int) -> None:
    data = b"\x89PNG fake bytes"
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    db_session.add(HazardPhoto(hazard_id=hazard_id, n=1, content_type="image/png", data=data, size=len(data),
                               sha256=digest, original_sha256=digest, width=1, height=1))
    db_session.flush()


def test_old_finished_hazards_are_redacted_and_recent_or_open_ones_kept(client, db_session, world):  # noqa: F811
    ids = {}
    for name in ("old_closed", "recent_closed", "old_open"):
        ids[name] = _report(client, world["tokens"]["worker"]).get_json()["id"]
        _photo(db_session, ids[name])
    _drive(client, world, ids["old_closed"], "closed")
    _drive(client, world, ids["recent_closed"], "closed")
    long_ago = datetime.now(UTC) - timedelta(days=800)
    db_session.execute(update(Hazard).where(Hazard.id.in_([ids["old_closed"], ids["old_open"]]))
                       .values(closed_at=None, updated_at=long_ago))
    db_session.execute(update(Hazard).where(Hazard.id == ids["old_closed"]).values(closed_at=long_ago))
    db_session.commit()

    removed = redact_finished(db_session, keep_months=24)
    assert removed["hazards"] == 1 and removed["photos"] == 1 and removed["notes"] >= 1
    old = db_session.get(Hazard, ids["old_closed"])
    db_session.refresh(old)
    assert old.description == "" and old.reporter_id is None and old.category_code == "fire"
    assert db_session.scalar(select(func.count()).select_from(HazardEvent).where(HazardEvent.hazard_id == old.id)) >= 6
    for kept in ("recent_closed", "old_open"):
        hazard = db_session.get(Hazard, ids[kept])
        db_session.refresh(hazard)
        assert hazard.description != "" and hazard.reporter_id is not None, kept
    assert db_session.scalar(select(func.count()).select_from(HazardPhoto)) == 2
    assert redact_finished(db_session, keep_months=24) == {"hazards": 0, "photos": 0, "notes": 0}


def test_retention_command(app, db_session):
    result = app.test_cli_runner().invoke(args=["hazard-retention", "--keep-months", "24"])
    assert result.exit_code == 0 and "保留期 24 个月" in result.output
