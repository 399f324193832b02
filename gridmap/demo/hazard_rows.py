"""The demo's year of hazards: how many, where and when (gridmap.demo.hazard_places), each one's
history (gridmap.demo.hazard_story), and the set-wise writes of the hazards and their events.

Counts are Poisson per grid, day and category: the grid's monthly rate (about three; more with
more households or a market, a quiet newly built grid fewer) times the category's share and
season, fewer on rest days. Reports come in during the morning patrol (07:15–10:30) or in the
working day. The featured grid (the demo grid worker's) also gets a recent hazard stopped in each
open status, one of them stuck for weeks, so the worker's queue has something in every state. Items
the manager whistles to their departments (gridmap.demo.duty_story) get their assignments written
beside their events (gridmap.demo.duty_rows). About one in seven is a resident's report from the
public form, with its tracking code, a phone left by some, and the 回访 answers
(gridmap.demo.resident_rows).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gridmap.clock import CHINA, as_local
from gridmap.demo import hazard_places as places
from gridmap.demo.duty_story import Duty, whistle_story, whistles
from gridmap.demo.hazard_story import Outcome, Resident, Rules, Staff, fit_before, outcome, write_story
from gridmap.hazards.calendar import WorkCalendar
from gridmap.hazards.models import HazardDeadlineRule

MONTHLY_RATE = 3.0
REST_DAY_FACTOR = 0.6
MARKET_FACTOR = 1.25
QUIET_GRID_RATE = 0.8  # a grid nobody lives in yet
P_STUCK = 0.006
P_RESIDENT = 0.15  # reported by a resident on the public form (居民吹哨)
P_PHONE = 0.6  # of those, the residents who leave a phone for the call back
# The featured grid's open cases, one in each open status: (hours before now, category,
# severity, the status it stops in); the first is weeks overdue.
FEATURED_OPEN = ((26 * 24.0, "illegal_building", "complex", "in_progress"), (5 * 24.0, "fire", "normal", "feedback"),
                 (3 * 24.0, "dispute", "normal", "in_progress"), (30.0, "sanitation", "normal", "assigned"),
                 (20.0, "facility", "normal", "accepted"), (6.0, "noise", "normal", "verified"),
                 (2.5, "street_vending", "normal", "reported"), (50.0, "fire", "normal", "whistled"))


@dataclass
class HazardRow:
    grid: int  # index into the caller's grids
    category: str
    severity: str
    reported: datetime
    xy: np.ndarray
    description: str
    result: Outcome
    resident: Resident | None = None


def _resident(rng: np.random.Generator) -> Resident | None:
    if rng.random() >= P_RESIDENT:
        return None
    code = base64.b32encode(rng.integers(0, 256, 10, dtype=np.uint8).tobytes()).decode()
    phone = "1" + str(rng.choice([3, 5, 8])) + "".join(str(d) for d in rng.integers(0, 10, 9))
    return Resident(code, phone if rng.random() < P_PHONE else None)


def deadline_rules(session: Session) -> Rules:
    r = HazardDeadlineRule
    rows = session.execute(select(r.category_code, r.severity, r.accept_working_days, r.accept_hours,
                                  r.resolve_working_days, r.resolve_hours)).all()
    return {(c, s): (a, ah, rd, rh) for c, s, a, ah, rd, rh in rows}


def monthly_rates(households: np.ndarray, has_market: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hazards per month for each grid."""
    rate = MONTHLY_RATE * rng.lognormal(0.0, 0.3, len(households)) * (0.5 + 0.5 * np.minimum(households, 600) / 400)
    rate = np.where(has_market, rate * MARKET_FACTOR, rate)
    return np.where(households == 0, QUIET_GRID_RATE, rate)


def _moment(day: date, workday: bool, rng: np.random.Generator) -> datetime:
    if workday and rng.random() < 0.6:
        lo, hi = 7.25, 10.5  # seen on the morning patrol
    else:
        lo, hi = 8.0, 18.0
    return datetime.combine(day, time(0), CHINA) + timedelta(hours=float(rng.uniform(lo, hi)))


def plan_hazards(rates: np.ndarray, days: list[date], workdays: np.ndarray, scale: float,
                 rng: np.random.Generator) -> list[tuple[int, date, bool, str]]:
    """(grid, day, working day?, category) of every hazard over ``days``."""
    categories = list(places.CATEGORY_SHARES)
    shares = np.array([places.CATEGORY_SHARES[c] for c in categories])
    season = np.array([[places.SEASONS.get(c, places.ALL_YEAR)[d.month - 1] for c in categories] for d in days])
    day_factor = np.where(workdays, 1.0, REST_DAY_FACTOR)[:, None] * season * shares[None, :]
    lam = rates[:, None, None] * (12 / 365.25) * day_factor[None, :, :] * scale
    counts = rng.poisson(lam)
    out = []
    for g, d, c in zip(*np.nonzero(counts), strict=True):
        out += [(int(g), days[d], bool(workdays[d]), categories[c])] * int(counts[g, d, c])
    return out


def year_of_hazards(grids: list, anchors: list[places.Anchors], staff: list[Staff], traits: list[str],
                    plan: list[tuple[int, date, bool, str]], featured: int | None, now: datetime,
                    calendar: WorkCalendar, rules: Rules, rng: np.random.Generator,
                    duty: Callable[[int, str], list[Duty]] = lambda g, c: []) -> list[HazardRow]:
    """Every planned hazard placed, told and replayed up to ``now``, oldest first; plus the
    featured grid's open cases. ``duty(grid, category)``: the departments it is routed to."""
    severities = list(places.SEVERITY_SHARES)
    weights = np.array(list(places.SEVERITY_SHARES.values()))
    wanted: list[tuple[int, datetime, str, str, str | None, bool]] = []
    for g, day, workday, category in plan:
        severity = severities[int(rng.choice(len(severities), p=weights))]
        stop = str(rng.choice(["assigned", "in_progress"])) if rng.random() < P_STUCK else None
        wanted.append((g, _moment(day, workday, rng), category, severity, stop, False))
    if featured is not None:
        for hours, category, severity, stop in FEATURED_OPEN:
            t0 = as_local(now) - timedelta(hours=hours)
            if t0.hour < 7:
                t0 -= timedelta(hours=t0.hour + 4)  # the evening before
            wanted.append((featured, t0, category, severity, stop, True))
    rows = []
    for g, t0, category, severity, stop, pinned in sorted(wanted, key=lambda w: (w[1], w[0])):
        if t0 > now:
            continue
        xy, description = places.place_hazard(anchors[g], grids[g].metric, category, rng)
        routed = duty(g, category)
        whistle = partial(whistle_story, duty=routed) if (
            (stop == "whistled" and routed) if pinned else (stop is None and whistles(category, routed, rng))) else None
        resident = None if pinned else _resident(rng)
        steps = write_story(t0, category, severity, staff[g], traits[g], calendar, rng, stop, whistle, resident)
        if pinned:
            steps = fit_before(steps, now)
        rows.append(HazardRow(g, category, severity, t0, xy, description,
                              outcome(steps, category, severity, now, calendar, rules), resident))
    return rows


_HAZARDS_SQL = text("""
INSERT INTO hazard (id, code, category_code, severity, description, geom, grid_id, grid_version, grid_code,
                    status, level, accept_by, resolve_by, calendar, reporter_id, assignee_id, created_at,
                    accepted_at, resolved_at, closed_at, updated_at, version, source, revisit_required, public_reply)
SELECT u.id, 'HZ-' || to_char(to_timestamp(u.created) AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
              || lpad(u.id::text, 6, '0'),
       u.category, u.severity, u.description, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), g.id, g.version, g.code,
       u.status, u.level, to_timestamp(u.accept_by), to_timestamp(u.resolve_by), u.calendar, u.reporter, u.assignee,
       to_timestamp(u.created), to_timestamp(u.accepted), to_timestamp(u.resolved), to_timestamp(u.closed),
       to_timestamp(u.updated), u.version, u.source, u.revisit_required, u.public_reply
FROM unnest(CAST(:ids AS bigint[]), CAST(:categories AS text[]), CAST(:severities AS text[]),
            CAST(:descriptions AS text[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]), CAST(:grids AS text[]),
            CAST(:statuses AS text[]), CAST(:levels AS text[]), CAST(:accept_by AS float8[]),
            CAST(:resolve_by AS float8[]), CAST(:calendars AS text[]), CAST(:reporters AS int[]),
            CAST(:assignees AS int[]), CAST(:created AS float8[]), CAST(:accepted AS float8[]),
            CAST(:resolved AS float8[]), CAST(:closed AS float8[]), CAST(:updated AS float8[]),
            CAST(:versions AS int[]), CAST(:sources AS text[]), CAST(:revisit_required AS boolean[]),
            CAST(:public_replies AS text[]))
     AS u(id, category, severity, description, lon, lat, grid, status, level, accept_by, resolve_by, calendar,
          reporter, assignee, created, accepted, resolved, closed, updated, version, source, revisit_required,
          public_reply)
JOIN grid g ON g.code = u.grid
""")

_EVENTS_SQL = text("""
INSERT INTO hazard_event (hazard_id, from_status, to_status, action, actor_id, at, note, detail)
SELECT e.hazard, e.from_status, e.to_status, e.action, e.actor, to_timestamp(e.at), e.note, CAST(e.detail AS jsonb)
FROM unnest(CAST(:hazards AS bigint[]), CAST(:from_statuses AS text[]), CAST(:to_statuses AS text[]),
            CAST(:actions AS text[]), CAST(:actors AS int[]), CAST(:ats AS float8[]), CAST(:notes AS text[]),
            CAST(:details AS text[])) WITH ORDINALITY AS e(hazard, from_status, to_status, action, actor, at, note,
                                                           detail, n)
ORDER BY e.n
""")


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def insert_hazards(session: Session, rows: list[HazardRow], grid_codes: list[str],
                   lonlat: np.ndarray) -> tuple[int, list[int]]:
    """Write the hazards (ids from the table's sequence, codes as the service makes them) and
    their events, two statements; returns the number of events and the hazards' ids."""
    if not rows:
        return 0, []
    ids = list(session.scalars(text("SELECT nextval(pg_get_serial_sequence('hazard', 'id')) "
                                    "FROM generate_series(1, :n)"), {"n": len(rows)}))
    r = [row.result for row in rows]
    session.execute(_HAZARDS_SQL, {
        "ids": ids, "categories": [row.category for row in rows], "severities": [row.severity for row in rows],
        "descriptions": [row.description for row in rows], "lons": lonlat[:, 0].tolist(),
        "lats": lonlat[:, 1].tolist(), "grids": [grid_codes[row.grid] for row in rows],
        "statuses": [o.status for o in r], "levels": [o.level for o in r],
        "accept_by": [_epoch(o.accept_by) for o in r], "resolve_by": [_epoch(o.resolve_by) for o in r],
        "calendars": [o.calendar for o in r],
        "reporters": [o.steps[0].actor.id if o.steps[0].actor else None for o in r],
        "assignees": [o.assignee_id for o in r], "created": [_epoch(row.reported) for row in rows],
        "accepted": [_epoch(o.accepted_at) for o in r], "resolved": [_epoch(o.resolved_at) for o in r],
        "closed": [_epoch(o.closed_at) for o in r], "updated": [_epoch(o.updated_at) for o in r],
        "versions": [o.version for o in r], "sources": ["resident" if row.resident else "staff" for row in rows],
        "revisit_required": [bool(row.resident and row.resident.phone) for row in rows],
        "public_replies": [next((st.detail["reply"] for st in reversed(o.steps) if "reply" in st.detail), None)
                           for o in r]})
    events: dict[str, list] = {k: [] for k in ("hazards", "from_statuses", "to_statuses", "actions", "actors", "ats",
                                               "notes", "details")}
    for hazard_id, row, (lon, lat) in zip(ids, rows, lonlat.tolist(), strict=True):
        for step in row.result.steps:
            detail = step.detail
            if step.action == "report":
                detail = {"lon": round(lon, 7), "lat": round(lat, 7), "grid": grid_codes[row.grid]}
            note = row.description[:500] if step.action == "report" else step.note
            actor = step.actor.id if step.actor is not None else None
            for key, value in zip(events, (hazard_id, step.from_status, step.to_status, step.action, actor,
                                           step.at.timestamp(), note, json.dumps(detail, ensure_ascii=False)),
                                  strict=True):
                events[key].append(value)
    session.execute(_EVENTS_SQL, events)
    return len(events["ats"]), ids
