"""The 回访 call: a resident reporter's phone for the staff who must call back. Unmasked only to a
caller who may record the ``revisit`` answer now (a supervisor or admin over a verified resident
item awaiting its answer), and every unmasked read is written to the audit log; anyone else over
the item sees it masked (``138****1234``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gridmap.auth import audit
from gridmap.auth.masking import mask_phone
from gridmap.auth.scope import Scope
from gridmap.db import transaction
from gridmap.hazards import service as hazards
from gridmap.public.models import PublicReport


def reporter_phone(session: Session, scope: Scope, hazard_id: int) -> dict[str, Any]:
    """The hazard (as its page shows it) and its reporter's phone: ``masked`` unless the caller
    may record the 回访 answer now; 404 outside the caller's scope."""
    hazard = hazards.get_hazard(session, scope, hazard_id)
    phone = session.scalar(select(PublicReport.phone).where(PublicReport.hazard_id == hazard_id))
    unmasked = phone is not None and "revisit" in hazard["allowed_actions"]
    if unmasked:
        with transaction(session):
            audit.record(session, scope, "read_unmasked", "hazard_reporter_phone", str(hazard_id),
                         {"hazard": hazard["code"]})
    return {"hazard": hazard, "phone": phone if unmasked else mask_phone(phone), "masked": not unmasked}
