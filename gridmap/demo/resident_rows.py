"""The demo's residents' reports (居民吹哨) beside their hazards: the tracking code and the phone
left (``public_report``), and each 回访 answer (``hazard_revisit``: the verification it answers,
the answer, by phone or on the status page, the note or comment, who recorded it), written
set-wise from the stories' kept events as gridmap.public and gridmap.hazards.revisit would have."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.demo.hazard_rows import HazardRow

_REPORTS_SQL = text("""
INSERT INTO public_report (tracking_code, hazard_id, phone, created_at)
SELECT r.code, r.hazard, r.phone, to_timestamp(r.created)
FROM unnest(CAST(:codes AS text[]), CAST(:hazards AS bigint[]), CAST(:phones AS text[]),
            CAST(:created AS float8[])) AS r(code, hazard, phone, created)
""")

_REVISITS_SQL = text("""
INSERT INTO hazard_revisit (hazard_id, verified_at, answer, channel, note, actor_id, at)
SELECT v.hazard, to_timestamp(v.verified), v.answer, v.channel, v.note, v.actor, to_timestamp(v.at)
FROM unnest(CAST(:hazards AS bigint[]), CAST(:verified AS float8[]), CAST(:answers AS text[]),
            CAST(:channels AS text[]), CAST(:notes AS text[]), CAST(:actors AS int[]), CAST(:ats AS float8[]))
     AS v(hazard, verified, answer, channel, note, actor, at)
""")


def insert_residents(session: Session, hazard_ids: list[int], rows: list[HazardRow]) -> int:
    """The residents' reports among ``rows`` and their answers; returns how many answers."""
    reports: dict[str, list] = {k: [] for k in ("codes", "hazards", "phones", "created")}
    revisits: dict[str, list] = {k: [] for k in ("hazards", "verified", "answers", "channels", "notes", "actors",
                                                 "ats")}
    for hazard_id, row in zip(hazard_ids, rows, strict=True):
        if row.resident is None:
            continue
        for key, value in zip(reports, (row.resident.tracking_code, hazard_id, row.resident.phone,
                                        row.reported.timestamp()), strict=True):
            reports[key].append(value)
        verified = None
        for step in row.result.steps:
            if step.action == "verify":
                verified = step.at
            elif step.action == "revisit":
                for key, value in zip(revisits, (hazard_id, verified.timestamp(), step.detail["answer"],
                                                 step.detail["channel"], step.note,
                                                 step.actor.id if step.actor else None, step.at.timestamp()),
                                      strict=True):
                    revisits[key].append(value)
    if reports["codes"]:
        session.execute(_REPORTS_SQL, reports)
    if revisits["hazards"]:
        session.execute(_REVISITS_SQL, revisits)
    return len(revisits["hazards"])
