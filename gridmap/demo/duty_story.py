"""The departments' part of a demo hazard's history (吹哨报到), pure (no DB): the manager whistles the
item to the departments its category and area are routed to (gridmap.departments.routing, looked
up by the caller), each department 报到s — most within the working-day deadline, some late, a few
never — the overdue sweep records each missed deadline once (``duty_overdue``), and each feeds
back; the last feedback moves the item on to ``feedback`` for the manager to verify, as
gridmap.departments.service does. The events carry the details the service writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from gridmap.clock import as_local
from gridmap.demo import hazard_places as text
from gridmap.demo.hazard_story import Person, Step, Story

# How likely a manager whistles an item of this category to its departments instead of handling it
# in the grid (categories without a department route are never whistled).
P_WHISTLE = {"illegal_building": 0.45, "work_safety": 0.35, "fire": 0.2, "public_order": 0.15, "street_vending": 0.12,
             "facility": 0.12, "dispute": 0.1, "noise": 0.08, "sanitation": 0.06}
P_LATE = 0.18  # a department that 报到s after its deadline
P_NO_SHOW = 0.03  # a department that never 报到s (the item waits, overdue and escalated)
SWEEP_MINUTES = 15  # the duty-sweep's cron interval
REPORT_HOURS = 3.0  # median hours from the whistle to 报到 (on time)
WORK_HOURS = 30.0  # median hours from 报到 to feedback


@dataclass(frozen=True)
class Duty:
    """A department an item is routed to: who 报到s for it, and its rule's working days."""

    person: Person
    code: str
    name: str
    days: int


def whistles(category: str, duty: list[Duty], rng: np.random.Generator) -> bool:
    return bool(duty) and rng.random() < P_WHISTLE.get(category, 0.0)


def _iso(moment: datetime) -> str:
    return as_local(moment).isoformat()


def whistle_story(s: Story, t: datetime, manager: Person, duty: list[Duty], no_show: bool = False) -> datetime:
    """The whistle and every department's 报到, overdue escalation and feedback, in time order;
    returns when the last department fed back (the item then waits for the manager's verification).
    ``no_show``: the first department never 报到s (the item stays whistled)."""
    rng, calendar = s.rng, s.calendar
    at = s.office(s.wait(t, "accept", 0.5))
    dues = [calendar.add_working_days(at, d.days) for d in duty]
    sent = [{"department": d.code, "name": d.name, "report_by": _iso(due.due), "calendar": due.calendar}
            for d, due in zip(duty, dues, strict=True)]
    s.act("whistle", manager, at, s.note(text.WHISTLE_NOTES), departments=sent)
    events: list[tuple[datetime, str, Person | None, str, dict]] = []
    for n, (d, due) in enumerate(zip(duty, dues, strict=True)):
        who = {"department": d.code, "name": d.name}
        never = no_show and n == 0 or rng.random() < P_NO_SHOW
        if not never and rng.random() >= P_LATE:
            reported = s.office(at + timedelta(hours=float(REPORT_HOURS * rng.lognormal(0.0, 0.7))))
        else:
            reported = s.office(due.due + timedelta(hours=float(16 * rng.lognormal(0.0, 0.6))))
        if reported > due.due:  # the sweep saw it first
            events.append((due.due + timedelta(minutes=float(rng.uniform(1, SWEEP_MINUTES))), "duty_overdue", None,
                           "", {**who, "report_by": _iso(due.due)}))
        if never:
            continue
        events.append((reported, "report_for_duty", d.person, "", {**who, "on_time": reported <= due.due}))
        fed_back = s.office(reported + timedelta(hours=float(WORK_HOURS * rng.lognormal(0.0, 0.6))))
        events.append((fed_back, "duty_feedback", d.person, s.note(text.DUTY_FEEDBACK_NOTES), {**who, "photos": []}))
    events.sort(key=lambda e: e[0])
    waiting = len(duty)
    for moment, action, actor, note, detail in events:
        to_status = s.status
        if action == "duty_feedback":
            waiting -= 1
            detail = {**detail, "waiting": waiting}
            to_status = "feedback" if waiting == 0 else s.status
        s.steps.append(Step(action, s.status, to_status, actor, moment, s.level, s.assignee, note, detail))
        s.status = to_status
    return events[-1][0] if events else at
