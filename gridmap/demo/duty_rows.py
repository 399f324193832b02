"""The demo's departments at work: who 报到s for each department where (the demo logins first, else
the department's district account, gridmap.demo.colleagues), the routing rules as the service
reads them (gridmap.departments.routing.route_for), and the assignments (``hazard_assignment``) of
the whistled hazards written set-wise from their stories' events, as the service would have left
them at ``now``: waiting, 报到'd on time or late, escalated by the sweep, fed back."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.demo.colleagues import USERNAME_PATTERN
from gridmap.demo.duty_story import Duty
from gridmap.demo.hazard_story import Person, Step
from gridmap.departments.routing import route_for

DEFAULT_REPORT_DAYS = 1  # GRIDMAP_DUTY_REPORT_WORKING_DAYS's default, for rules without their own


def duty_lookup(session: Session, grid_codes: list[str]):
    """``duty(grid index, category)`` → the departments the rules send it to, each with who 报到s."""
    users = session.execute(text("""
        SELECT u.id, u.username, u.scope_code, u.department_id FROM app_user u
        WHERE u.role = 'department' AND u.active ORDER BY u.username ~ :pattern, length(u.scope_code) DESC, u.id
    """), {"pattern": USERNAME_PATTERN}).all()

    @cache
    def duty(g: int, category: str) -> list[Duty]:
        code = grid_codes[g]
        out = []
        for department, days in route_for(session, category, code):
            person = next((Person(u.id, u.username, "department", u.scope_code) for u in users
                           if u.department_id == department.id and code.startswith(u.scope_code)), None)
            if person is None:  # nobody could 报到: the service would refuse the whistle
                return []
            out.append(Duty(person, department.code, department.name,
                            DEFAULT_REPORT_DAYS if days is None else days))
        return out

    return duty


_ASSIGNMENTS_SQL = text("""
INSERT INTO hazard_assignment (hazard_id, department_id, whistled_at, whistled_by, report_by, calendar, reported_at,
                               reported_by, fed_back_at, fed_back_by, feedback, escalated_at)
SELECT a.hazard, d.id, to_timestamp(a.whistled), a.whistled_by, to_timestamp(a.report_by), a.calendar,
       to_timestamp(a.reported), a.reported_by, to_timestamp(a.fed_back), a.fed_back_by, a.feedback,
       to_timestamp(a.escalated)
FROM unnest(CAST(:hazards AS bigint[]), CAST(:departments AS text[]), CAST(:whistled AS float8[]),
            CAST(:whistled_by AS int[]), CAST(:report_by AS float8[]), CAST(:calendars AS text[]),
            CAST(:reported AS float8[]), CAST(:reported_by AS int[]), CAST(:fed_back AS float8[]),
            CAST(:fed_back_by AS int[]), CAST(:feedback AS text[]), CAST(:escalated AS float8[]))
     AS a(hazard, department, whistled, whistled_by, report_by, calendar, reported, reported_by, fed_back,
          fed_back_by, feedback, escalated)
JOIN department d ON d.code = a.department
""")


def insert_assignments(session: Session, hazard_ids: list[int], histories: list[list[Step]]) -> int:
    """One ``hazard_assignment`` per department of each whistle in the (kept) histories; returns how many."""
    columns: dict[str, list] = {k: [] for k in ("hazards", "departments", "whistled", "whistled_by", "report_by",
                                                "calendars", "reported", "reported_by", "fed_back", "fed_back_by",
                                                "feedback", "escalated")}
    for hazard_id, steps in zip(hazard_ids, histories, strict=True):
        open_ones: dict[str, dict] = {}
        for step in steps:
            if step.action == "whistle":
                for sent in step.detail["departments"]:
                    open_ones[sent["department"]] = {
                        "hazards": hazard_id, "departments": sent["department"], "whistled": step.at.timestamp(),
                        "whistled_by": step.actor.id if step.actor else None,
                        "report_by": datetime.fromisoformat(sent["report_by"]).timestamp(),
                        "calendars": sent["calendar"], "reported": None, "reported_by": None, "fed_back": None,
                        "fed_back_by": None, "feedback": "", "escalated": None}
            elif step.action == "duty_overdue":
                open_ones[step.detail["department"]]["escalated"] = step.at.timestamp()
            elif step.action == "report_for_duty":
                row = open_ones[step.detail["department"]]
                row["reported"], row["reported_by"] = step.at.timestamp(), step.actor.id if step.actor else None
            elif step.action == "duty_feedback":
                row = open_ones[step.detail["department"]]
                row.update(fed_back=step.at.timestamp(), fed_back_by=step.actor.id if step.actor else None,
                           feedback=step.note)
        for row in open_ones.values():
            for key, value in row.items():
                columns[key].append(value)
    if columns["hazards"]:
        session.execute(_ASSIGNMENTS_SQL, columns)
    return len(columns["hazards"])
