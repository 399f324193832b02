"""Each demo hazard's history through the real loop (gridmap.hazards.workflow), pure (no DB).

A hazard is reported by its grid's worker, accepted and assigned by the supervisor who
manages its level (grid and community level: the community's supervisor; street: the
street's; district: the district's), started and fed back by the assignee, verified and
closed by the manager, with refused reports, work returned for rework and escalations
(吹哨) now and then. Managers act in office hours on working days (urgent cases at any
hour), workers from 07:00 to 21:00. How fast depends on the grid's ``trait``: most grids
are quick, some steady, a few slow, which is what colours the 平安报表. A ``stop`` leaves a
hazard stuck in a status (a case waiting for a demolition order, a worker on leave): the
open and overdue ones of today. Deadlines come from the working-day calendar and the
deadline rules, as the service computes them, and are recomputed at each escalation.
Every step is checked against ``workflow.RULES``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import numpy as np

from gridmap.clock import CHINA, as_local
from gridmap.demo import hazard_places as text
from gridmap.hazards import workflow
from gridmap.hazards.calendar import Deadline, WorkCalendar, combined_calendar

# Median hours of each wait by the grid's trait (log-normal around it).
TRAIT_SHARES = {"fast": 0.55, "steady": 0.30, "slow": 0.15}
HOURS = {
    "fast": {"accept": 1.0, "start": 1.5, "work": 12.0, "verify": 3.0},
    "steady": {"accept": 4.0, "start": 5.0, "work": 30.0, "verify": 10.0},
    "slow": {"accept": 20.0, "start": 24.0, "work": 90.0, "verify": 30.0},
}
WORK_BY_SEVERITY = {"normal": 1.0, "complex": 2.2, "urgent": 0.15}
P_REFUSED = 0.03
P_REWORK = 0.06
P_ASSIGN_LATER = 0.2
P_ESCALATE = {"grid": {"normal": 0.04, "complex": 0.18, "urgent": 0.08}, "community": 0.25, "street": 0.1,
              "district": 0.0}
OFFICE = (time(8, 30), time(17, 30))
AWAKE = (time(7, 0), time(21, 0))


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    role: str
    scope: str


@dataclass(frozen=True)
class Staff:
    """Who works on one grid's hazards: its worker and the supervisors above it."""

    worker: Person
    community: Person
    street: Person
    district: Person

    def manager(self, level: str) -> Person:
        return {"grid": self.community, "community": self.community, "street": self.street,
                "district": self.district}[level]

    def assignee(self, level: str) -> Person:
        return {"grid": self.worker, "community": self.community, "street": self.street,
                "district": self.street}[level]


@dataclass(frozen=True)
class Step:
    action: str
    from_status: str | None
    to_status: str
    actor: Person
    at: datetime
    level: str
    assignee: Person | None
    note: str = ""
    detail: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """The hazard row as it stands at ``now``, and the events that got it there."""

    status: str
    level: str
    assignee_id: int | None
    accept_by: datetime
    resolve_by: datetime
    calendar: str
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    version: int
    steps: list[Step]


Rules = dict[tuple[str | None, str], tuple[int | None, int | None, int | None, int | None]]


def deadlines(calendar: WorkCalendar, rules: Rules, category: str, severity: str,
              start: datetime) -> tuple[Deadline, Deadline]:
    """As gridmap.hazards.deadlines.deadlines_for: the category's own rule, else the catalogue's."""
    accept_days, accept_hours, resolve_days, resolve_hours = rules.get((category, severity)) or rules[(None, severity)]

    def one(days: int | None, hours: int | None) -> Deadline:
        return calendar.add_hours(start, hours) if hours is not None else calendar.add_working_days(start, days or 0)

    return one(accept_days, accept_hours), one(resolve_days, resolve_hours)


class Story:
    """Writes one hazard's steps; ``rng`` draws the waits and the turns it takes."""

    def __init__(self, calendar: WorkCalendar, rng: np.random.Generator, trait: str, severity: str, grid_code: str):
        self.calendar, self.rng, self.hours, self.severity = calendar, rng, HOURS[trait], severity
        self.grid_code = grid_code
        self.steps: list[Step] = []
        self.status, self.level, self.assignee = "reported", "grid", None

    def wait(self, t: datetime, kind: str, factor: float = 1.0) -> datetime:
        return t + timedelta(hours=float(self.hours[kind] * factor * self.rng.lognormal(0.0, 0.6)))

    def _within(self, t: datetime, hours: tuple[time, time], workdays_only: bool) -> datetime:
        local = as_local(t)
        day, first, last = local.date(), *hours
        if (not workdays_only or self.calendar.is_workday(day)[0]) and first <= local.time() <= last:
            return local
        if local.time() > last or (workdays_only and not self.calendar.is_workday(day)[0]):
            day += timedelta(days=1)
        while workdays_only and not self.calendar.is_workday(day)[0]:
            day += timedelta(days=1)
        return datetime.combine(day, first, CHINA) + timedelta(minutes=float(self.rng.uniform(0, 75)))

    def office(self, t: datetime) -> datetime:
        """When a manager gets to it: office hours of working days (urgent cases: at once)."""
        return as_local(t) if self.severity == "urgent" else self._within(t, OFFICE, True)

    def awake(self, t: datetime) -> datetime:
        return self._within(t, AWAKE, False)

    def act(self, action: str, actor: Person, at: datetime, note: str = "", assignee: Person | None = None,
            **detail) -> datetime:
        """One step, decided by the workflow itself (it raises if the actor may not take it)."""
        state = workflow.State(self.status, self.level, self.grid_code, self.assignee.id if self.assignee else None)
        decision = workflow.decide(workflow.Actor(actor.role, actor.scope, actor.id), state, action, note)
        if action == "escalate" or (action == "reject" and decision.from_status == "assigned"):
            self.assignee = None
            if action == "escalate":
                detail.update(from_level=decision.from_level, to_level=decision.to_level)
        if action == "assign" and assignee is not None:
            self.assignee = assignee
            detail["assignee"] = assignee.username
        self.steps.append(Step(action, self.status, decision.to_status, actor, at, decision.to_level, self.assignee,
                               note, detail))
        self.status, self.level = decision.to_status, decision.to_level
        return at

    def note(self, choices: tuple[str, ...]) -> str:
        return str(self.rng.choice(choices))


def write_story(t0: datetime, category: str, severity: str, staff: Staff, trait: str, calendar: WorkCalendar,
                rng: np.random.Generator, stop: str | None = None) -> list[Step]:
    """The whole history of a hazard reported at ``t0`` (events after today are cut by ``outcome``);
    ``stop``: the status it gets stuck in, the first time it gets there."""
    s = Story(calendar, rng, trait, severity, staff.worker.scope)
    work = WORK_BY_SEVERITY[severity]
    s.steps.append(Step("report", None, "reported", staff.worker, t0, "grid", None))
    if stop is None and rng.random() < P_REFUSED:
        s.act("reject", staff.manager("grid"), s.office(s.wait(t0, "accept")), s.note(text.REJECT_NOTES))
        return s.steps
    t = t0
    while True:
        level = s.level
        manager, assignee = staff.manager(level), staff.assignee(level)
        t = s.act("accept", manager, s.office(s.wait(t, "accept", 0.3 if severity == "urgent" else 1.0)))
        later = severity != "urgent" and rng.random() < P_ASSIGN_LATER  # who does it is settled the next day
        t = s.act("assign", manager, s.office(s.wait(t, "accept")) if later else
                  t + timedelta(minutes=float(rng.uniform(5, 60))), assignee=assignee)
        t = s.act("start", assignee, s.awake(s.wait(t, "start", 0.3 if severity == "urgent" else 1.0)))
        p = P_ESCALATE[level]
        if workflow.next_level(level) and rng.random() < (p[severity] if isinstance(p, dict) else p):
            by = staff.worker if level == "grid" else manager
            t = s.act("escalate", by, s.awake(s.wait(t, "work", 0.4 * work)),
                      s.note(text.ESCALATE_NOTES[workflow.next_level(level)]))
            continue
        t = s.act("feedback", assignee, s.awake(s.wait(t, "work", work)), s.note(text.FEEDBACK_NOTES))
        if rng.random() < P_REWORK:
            t = s.act("reject", manager, s.office(s.wait(t, "verify")), s.note(text.REWORK_NOTES))
            t = s.act("feedback", assignee, s.awake(s.wait(t, "work", 0.5 * work)), s.note(text.FEEDBACK_NOTES))
        t = s.act("verify", manager, s.office(s.wait(t, "verify")), s.note(text.VERIFY_NOTES))
        s.act("close", manager, s.office(t + timedelta(hours=float(rng.uniform(0.1, 6)))))
        if stop is not None:
            return s.steps[:next(i for i, step in enumerate(s.steps) if step.to_status == stop) + 1]
        return s.steps


def fit_before(steps: list[Step], now: datetime) -> list[Step]:
    """The steps with their waits shrunk in proportion so the last one is done by ``now``
    (a featured case that must stand in its status today)."""
    first, last = steps[0].at, steps[-1].at
    if last <= now or len(steps) < 2:
        return steps
    ratio = 0.9 * (now - first) / (last - first)
    return [Step(st.action, st.from_status, st.to_status, st.actor, first + (st.at - first) * ratio, st.level,
                 st.assignee, st.note, st.detail) for st in steps]


def outcome(steps: list[Step], category: str, severity: str, now: datetime, calendar: WorkCalendar,
            rules: Rules) -> Outcome:
    """The hazard as it stands at ``now``: the steps up to then replayed as the service applies them."""
    kept = [step for step in steps if step.at <= now]
    first, last = kept[0], kept[-1]
    accept, resolve = deadlines(calendar, rules, category, severity, first.at)
    accepted_at = resolved_at = closed_at = None
    for step in kept[1:]:
        if step.action == "escalate":
            accept, resolve = deadlines(calendar, rules, category, severity, step.at)
            accepted_at = None
        elif step.action == "accept":
            accepted_at = step.at
        if step.to_status == "verified":
            resolved_at = step.at
        if step.to_status in ("closed", "rejected"):
            closed_at = step.at
    return Outcome(status=last.to_status, level=last.level,
                   assignee_id=last.assignee.id if last.assignee else None, accept_by=accept.due,
                   resolve_by=resolve.due, calendar=combined_calendar(accept, resolve), accepted_at=accepted_at,
                   resolved_at=resolved_at, closed_at=closed_at, updated_at=last.at, version=len(kept), steps=kept)
