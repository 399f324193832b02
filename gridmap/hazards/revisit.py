"""回访 (call back) after verification: the reporter's answer 满意 / 基本满意 / 不满意 to a
resident's item, recorded by staff after a phone call (the ``revisit`` action, through
``service.act``) or by the resident on the status page (``resident_answer``, gridmap.public).

One answer per verification: ``hazard_revisit`` is unique on (hazard, ``verified_at`` = the
hazard's ``resolved_at``), and both doors lock the hazard row first. 不满意 sends the item back
to ``in_progress`` with a fresh resolve deadline, the answer in its history (the event's
``detail``); 满意 and 基本满意 let a manager close it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from gridmap.db import transaction
from gridmap.errors import Conflict, NotFound, Unprocessable
from gridmap.hazards import workflow
from gridmap.hazards.calendar import FALLBACK
from gridmap.hazards.deadlines import deadlines_for
from gridmap.hazards.models import ANSWERS, SATISFIED, Hazard, HazardEvent, HazardRevisit


def answered(session: Session, hazard: Hazard) -> bool:
    """Whether the hazard's current verification has its answer (only asked of verified resident items)."""
    if hazard.status != "verified" or hazard.source != workflow.RESIDENT or hazard.resolved_at is None:
        return False
    return bool(session.scalar(select(exists().where(HazardRevisit.hazard_id == hazard.id,
                                                     HazardRevisit.verified_at == hazard.resolved_at))))


def record(session: Session, hazard: Hazard, decision: workflow.Decision, *, answer: str | None, channel: str,
           note: str, actor_id: int | None, now: datetime, detail: dict[str, Any]) -> workflow.Decision:
    """Store the answer (in the caller's transaction, the hazard row locked) and return the decision
    with its target: back into the loop for 不满意."""
    if answer not in ANSWERS:
        raise Unprocessable("hazard_revisit_answer_required", details={"field": "answer", "choices": list(ANSWERS)})
    session.add(HazardRevisit(hazard_id=hazard.id, verified_at=hazard.resolved_at, answer=answer, channel=channel,
                              note=note, actor_id=actor_id, at=now))
    detail.update(answer=answer, channel=channel)
    return decision if answer in SATISFIED else replace(decision, to_status=workflow.REVISIT_REOPENS_TO)


def reopen_values(session: Session, hazard: Hazard, now: datetime) -> dict[str, Any]:
    """What 不满意 changes beside the status: no longer resolved, a fresh resolve deadline from now."""
    _, resolve = deadlines_for(session, hazard.category_code, hazard.severity, now)
    return {"resolved_at": None, "resolve_by": resolve.due,
            "calendar": FALLBACK if resolve.calendar == FALLBACK else hazard.calendar}


def resident_answer(session: Session, hazard_id: int, answer: str, comment: str, now: datetime,
                    before_write: Callable[[], None]) -> None:
    """The resident's own answer on the status page: only while the item is verified and this
    verification has no answer (409 ``satisfaction_not_open`` / ``satisfaction_already_answered``).
    ``before_write()`` runs inside the transaction first (the public side spends its challenge
    there). The answer is a change of the item like any action: its version moves on."""
    with transaction(session):
        hazard = session.scalars(select(Hazard).where(Hazard.id == hazard_id).with_for_update()).first()
        if hazard is None:
            raise NotFound("public_report_not_found")
        if hazard.status != "verified":
            raise Conflict("satisfaction_not_open", details={"status": hazard.status})
        if answered(session, hazard):
            raise Conflict("satisfaction_already_answered")
        before_write()
        decision = workflow.Decision("revisit", "verified", "verified", hazard.level, hazard.level)
        detail: dict[str, Any] = {}
        decision = record(session, hazard, decision, answer=answer, channel="status_page", note=comment,
                          actor_id=None, now=now, detail=detail)
        values: dict[str, Any] = {"updated_at": now, "version": hazard.version + 1}
        if decision.to_status != hazard.status:
            values.update(status=decision.to_status, **reopen_values(session, hazard, now))
        session.execute(update(Hazard).where(Hazard.id == hazard.id).values(**values))
        session.add(HazardEvent(hazard_id=hazard.id, from_status="verified", to_status=decision.to_status,
                                action="revisit", actor_id=None, at=now, note=comment, detail=detail))


def last_answer(session: Session, hazard_id: int) -> str | None:
    return session.scalar(select(HazardRevisit.answer).where(HazardRevisit.hazard_id == hazard_id)
                          .order_by(HazardRevisit.at.desc(), HazardRevisit.id.desc()).limit(1))
