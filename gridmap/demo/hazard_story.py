"""Each demo hazard's history through the real loop (gridmap.hazards.workflow), pure (no DB).

A hazard is reported by its grid's worker, accepted and assigned by the supervisor who
manages its level (grid and community level: the community's supervisor; street: the
street's; district: the district's), started and fed back by the assignee, verified and
closed by the manager, with refused reports, work returned for rework and escalations
(吹哨) now and then. Managers act in office hours on working days (urgent cases at any
hour), workers from 07:00 to 21:00. How fast depends on the grid's ``trait``: most grids
are quick, some steady, a few slow, which is what colours the 平安报表. A ``stop`` leaves a
hazard stuck in a status (a case waiting for a demolition order, a worker on leave): the
open and overdue ones of today. Some items the manager whistles to the departments that own them
(``whistle``: gridmap.demo.duty_story tells their 报到 and feedback). Some are residents' reports
from the public form (``resident``): after each verification (with a reply to the resident) the
reporter answers the 回访 — on the status page, or on the phone when the community calls one who
left a number (close waits for it) —; 不满意 sends the item back to work. Deadlines come from the working-day calendar and the
deadline rules, as the service computes them, and are recomputed at each escalation.
Every step is checked against ``workflow.RULES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

import numpy as np

from gridmap.clock import CHINA, as_local
from gridmap.demo import hazard_places as text
from gridmap.hazards import workflow
from gridmap.hazards.calendar import Deadline, WorkCalendar, combined_calendar
from gridmap.hazards.models import ANSWERS, SATISFIED

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
# 回访: who answers and what (a second answer, after rework, is never 不满意 again).
P_CALLED = 0.6  # of the reporters who left a phone, those the community calls (the rest answer online)
P_ANSWERS_ONLINE = 0.6  # of those who left none, those who answer on the status page before it closes
ANSWER_SHARES = {"satisfied": 0.8, "basically_satisfied": 0.13, "dissatisfied": 0.07}
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
class Resident:
    """A resident who reported on the public form: the tracking code, and the phone left (if any)."""

    tracking_code: str
    phone: str | None


@dataclass(frozen=True)
class Step:
    action: str
    from_status: str | None
    to_status: str
    actor: Person | None  # None: the system (the overdue sweep)
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
        self.resident: Resident | None = None
        self.answered = False  # this verification has its 回访 answer

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
        state = workflow.State(self.status, self.level, self.grid_code, self.assignee.id if self.assignee else None,
                               source=workflow.RESIDENT if self.resident else "staff",
                               revisit_required=bool(self.resident and self.resident.phone), answered=self.answered)
        decision = workflow.decide(workflow.Actor(actor.role, actor.scope, actor.id), state, action, note)
        if action == "revisit" and detail["answer"] not in SATISFIED:
            decision = replace(decision, to_status=workflow.REVISIT_REOPENS_TO)
        self.answered = action == "revisit"
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


# The departments' part once the manager whistles: (story, when, manager) → when the last one fed back.
Whistle = Callable[["Story", datetime, Person], datetime]
# Events that leave the hazard's version alone (as the services write them).
UNVERSIONED = ("report_for_duty", "duty_overdue")


def _revisit(s: Story, t: datetime, manager: Person, again: bool) -> tuple[datetime, bool]:
    """The reporter's 回访 answer after a verification; (when, whether 不满意 reopened it). Someone who
    left no phone may not answer at all (then close does not wait)."""
    rng, resident = s.rng, s.resident
    shares = {a: ANSWER_SHARES[a] for a in ANSWERS if not (again and a not in SATISFIED)}
    answer = str(rng.choice(list(shares), p=np.array(list(shares.values())) / sum(shares.values())))
    if resident.phone and rng.random() < P_CALLED:
        t = s.act("revisit", manager, s.office(s.wait(t, "verify", 0.5)), s.note(text.REVISIT_NOTES),
                  answer=answer, channel="phone")
    elif resident.phone or rng.random() < P_ANSWERS_ONLINE:
        t = s.awake(t + timedelta(hours=float(6 * rng.lognormal(0.0, 0.8))))
        to = "verified" if answer in SATISFIED else workflow.REVISIT_REOPENS_TO
        comment = s.note(text.RESIDENT_COMMENTS[answer])
        s.steps.append(Step("revisit", s.status, to, None, t, s.level, s.assignee, comment,
                            {"answer": answer, "channel": "status_page"}))
        s.status, s.answered = to, True
    return t, s.status != "verified"


def _verify_and_close(s: Story, t: datetime, manager: Person, assignee: Person, work: float) -> None:
    """Verification (with a reply to a resident), the 回访 of a resident's item, close; a 不满意
    sends it back to the assignee, who feeds back again."""
    again = False
    while True:
        reply = {"reply": s.note(text.RESIDENT_REPLIES)} if s.resident else {}
        t = s.act("verify", manager, s.office(s.wait(t, "verify")), s.note(text.VERIFY_NOTES), **reply)
        if s.resident is not None:
            t, reopened = _revisit(s, t, manager, again)
            if reopened:
                again = True
                t = s.act("feedback", assignee, s.awake(s.wait(t, "work", 0.5 * work)), s.note(text.FEEDBACK_NOTES))
                continue
        s.act("close", manager, s.office(t + timedelta(hours=float(s.rng.uniform(0.1, 6)))))
        return


def write_story(t0: datetime, category: str, severity: str, staff: Staff, trait: str, calendar: WorkCalendar,
                rng: np.random.Generator, stop: str | None = None, whistle: Whistle | None = None,
                resident: Resident | None = None) -> list[Step]:
    """The whole history of a hazard reported at ``t0`` (events after today are cut by ``outcome``);
    ``stop``: the status it gets stuck in, the first time it gets there; ``whistle``: the manager
    whistles it to its departments once it is in progress (gridmap.demo.duty_story); ``resident``:
    a resident reported it on the public form (no staff reporter) and answers the 回访."""
    s = Story(calendar, rng, trait, severity, staff.worker.scope)
    s.resident = resident
    work = WORK_BY_SEVERITY[severity]
    s.steps.append(Step("report", None, "reported", None if resident else staff.worker, t0, "grid", None))
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
        if whistle is not None:
            t = whistle(s, t, manager)
            if s.status == "feedback":  # else a department never 报到'd: the item waits with them
                _verify_and_close(s, t, manager, assignee, work)
            return _stopped(s.steps, stop)
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
        _verify_and_close(s, t, manager, assignee, work)
        return _stopped(s.steps, stop)


def _stopped(steps: list[Step], stop: str | None) -> list[Step]:
    """The steps up to the first that reaches ``stop`` (all of them without one)."""
    if stop is None:
        return steps
    return steps[:next(i for i, step in enumerate(steps) if step.to_status == stop) + 1]


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
        elif step.action == "revisit" and step.to_status != step.from_status:  # 不满意: a fresh resolve deadline
            resolve = deadlines(calendar, rules, category, severity, step.at)[1]
            resolved_at = None
        if step.to_status == "verified" != step.from_status:
            resolved_at = step.at
        if step.to_status in ("closed", "rejected"):
            closed_at = step.at
    return Outcome(status=last.to_status, level=last.level,
                   assignee_id=last.assignee.id if last.assignee else None, accept_by=accept.due,
                   resolve_by=resolve.due, calendar=combined_calendar(accept, resolve), accepted_at=accepted_at,
                   resolved_at=resolved_at, closed_at=closed_at, updated_at=last.at,
                   version=sum(1 for st in kept if versioned(st)), steps=kept)


def versioned(step: Step) -> bool:
    """Whether the step moves the hazard's version on (a department's 报到, an overdue sweep and a
    feedback that is not the last do not)."""
    return step.action not in UNVERSIONED and not (step.action == "duty_feedback" and step.from_status == step.to_status)
