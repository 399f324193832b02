"""Retention of personal data in finished hazards.

A closed or rejected hazard keeps what the statistics need (category, severity,
place, grid, deadlines, times, the status history) for ever; after the retention
period its free text, photos and the people attached to it are removed. Free text
and photos are where names, phones and faces end up.
"""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.clock import now as clock_now
from gridmap.db import transaction

REDACT_SQL = """
WITH expired AS (
    SELECT id FROM hazard
    WHERE status IN ('closed', 'rejected') AND coalesce(closed_at, updated_at) < :cutoff
      AND (description <> '' OR reporter_id IS NOT NULL OR assignee_id IS NOT NULL OR public_reply IS NOT NULL
           OR EXISTS (SELECT 1 FROM hazard_revisit r WHERE r.hazard_id = hazard.id AND r.note <> '')
           OR EXISTS (SELECT 1 FROM hazard_photo p WHERE p.hazard_id = hazard.id)
           OR EXISTS (SELECT 1 FROM hazard_event e WHERE e.hazard_id = hazard.id AND e.note <> ''))
), photos AS (
    DELETE FROM hazard_photo p USING expired x WHERE p.hazard_id = x.id RETURNING p.id
), notes AS (
    UPDATE hazard_event e SET note = '', detail = e.detail - 'reply' FROM expired x
    WHERE e.hazard_id = x.id AND (e.note <> '' OR e.detail ->> 'reply' IS NOT NULL) RETURNING e.id
), revisits AS (  -- call-back notes and residents' comments
    UPDATE hazard_revisit r SET note = '' FROM expired x WHERE r.hazard_id = x.id AND r.note <> '' RETURNING r.id
), redacted AS (
    UPDATE hazard h SET description = '', reporter_id = NULL, assignee_id = NULL, public_reply = NULL
    FROM expired x WHERE h.id = x.id RETURNING h.id
)
SELECT (SELECT count(*) FROM redacted), (SELECT count(*) FROM photos),
       (SELECT count(*) FROM notes) + (SELECT count(*) FROM revisits)
"""


def redact_finished(session: Session, keep_months: int, now: datetime | None = None) -> dict[str, int]:
    """Redact hazards finished more than ``keep_months`` ago; returns what was removed."""
    cutoff = (now or clock_now()) - relativedelta(months=keep_months)
    with transaction(session):
        hazards, photos, notes = session.execute(text(REDACT_SQL), {"cutoff": cutoff}).one()
    return {"hazards": hazards, "photos": photos, "notes": notes}
