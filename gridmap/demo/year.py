"""A year of life in the demo district: the hazards of the twelve months before today with their
whole histories, and the grid workers' patrols and 五必访 visits (``gridmap demo-data``).

Deterministic: the same seed, district and ``now`` give the same rows. Written set-wise: the
colleagues' accounts and the hazards with their events by INSERT … SELECT, the check-ins by
binary COPY (gridmap.pgcopy) into the month partitions made beforehand; then the heatmap's daily
cells and zoom pyramid are rebuilt for the period (gridmap.hazard_stats.refresh). The inserts
commit with the daily cells. The party members' visits to their contact households come from
gridmap.demo.party_visits. Items whistled to departments carry their assignments
(gridmap.demo.duty_rows), residents' reports their tracking codes and 回访 answers
(gridmap.demo.resident_rows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap import pgcopy
from gridmap.clock import add_months, day_bounds
from gridmap.config import DEFAULT_VISIT_TAGS
from gridmap.demo import hazard_places, patrols
from gridmap.demo.colleagues import USERNAME_PATTERN, insert_colleagues, staff_of_grids
from gridmap.demo.district import CITY_PREFIX, District
from gridmap.demo.duty_rows import duty_lookup, insert_assignments
from gridmap.demo.hazard_rows import deadline_rules, insert_hazards, monthly_rates, plan_hazards, year_of_hazards
from gridmap.demo.hazard_story import TRAIT_SHARES
from gridmap.demo.party_visits import insert_visits
from gridmap.demo.resident_rows import insert_residents
from gridmap.demo.residents import Residents
from gridmap.hazard_stats.refresh import refresh_daily, refresh_rollup
from gridmap.hazards.calendar import WorkCalendar
from gridmap.hazards.deadlines import work_calendar
from gridmap.patrol.keys import add_missing_keys
from gridmap.patrol.partitions import ensure_partitions

YEAR_SEED_OFFSET = 19
POSTGRES_EPOCH = 946_684_800.0  # 2000-01-01T00:00Z in Unix seconds
FEATURED_TRAIT = "steady"
ROLLUP_INSERT_TRIGGER = "hazard_heat_rollup_insert"  # migration 0012


@dataclass(frozen=True)
class YearSummary:
    first: date
    last: date
    hazards: int
    events: int
    checkins: int
    visits: int
    seconds: float
    party_visits: int = 0


def has_year(session: Session, prefix: str) -> bool:
    """Whether the demo district has any hazard or check-in yet."""
    return bool(session.scalar(text("""
        SELECT EXISTS (SELECT 1 FROM hazard WHERE grid_code LIKE :p)
            OR EXISTS (SELECT 1 FROM checkin c JOIN grid g ON g.id = c.grid_id WHERE g.code LIKE :p)
    """), {"p": prefix + "%"}))


def delete_year(session: Session, prefix: str) -> None:
    """The district's check-ins, hazards (their events and photos cascade) and daily cells, and
    the colleagues' accounts; the zoom pyramid follows the hazard table by its triggers."""
    params = {"p": prefix + "%", "pattern": USERNAME_PATTERN}
    session.execute(text("""
        WITH gone AS (
            DELETE FROM checkin WHERE grid_id IN (SELECT id FROM grid WHERE code LIKE :p)
               OR user_id IN (SELECT id FROM app_user WHERE scope_code LIKE :p AND role = 'grid_worker')
            RETURNING id)
        DELETE FROM checkin_key k USING gone WHERE k.id = gone.id
    """), params)
    session.execute(text("DELETE FROM hazard WHERE grid_code LIKE :p"), params)
    session.execute(text("""
        DELETE FROM party_visit WHERE household_id IN
            (SELECT h.id FROM household h JOIN grid g ON g.id = h.grid_id WHERE g.code LIKE :p)"""), params)
    session.execute(text("DELETE FROM hazard_daily_cell WHERE grid_code LIKE :p"), params)
    session.execute(text("DELETE FROM app_user WHERE username ~ :pattern AND scope_code LIKE :p"), params)


def _key_places(session: Session, district: District, prefix: str) -> dict[str, list[tuple[str, str, np.ndarray]]]:
    rows = session.execute(text("""
        SELECT g.code, k.kind, k.name, ST_X(k.geom), ST_Y(k.geom) FROM key_place k JOIN grid g ON g.id = k.grid_id
        WHERE g.code LIKE :p ORDER BY g.code, k.kind, k.name"""), {"p": prefix + "%"}).all()
    if not rows:
        return {}
    xy = district.to_metric(np.array([[r[3], r[4]] for r in rows]))
    out: dict[str, list[tuple[str, str, np.ndarray]]] = {}
    for (code, kind, name, _, _), spot in zip(rows, xy, strict=True):
        out.setdefault(code, []).append((kind, name, spot))
    return out


def _calendar(session: Session, first: date, last: date) -> WorkCalendar:
    """The working-day calendar with every officially known day from ``first``'s year to the year
    after ``last`` looked up once (the same answers, a dict lookup each: deadlines of thousands
    of hazards ask it tens of thousands of times)."""
    calendar = work_calendar(session)
    years = [y for y in range(first.year, last.year + 2) if calendar.covers(y)]
    days = [date(y, 1, 1) + timedelta(days=i) for y in years for i in range((date(y + 1, 1, 1) - date(y, 1, 1)).days)]
    return WorkCalendar(overrides={d: calendar.is_workday(d)[0] for d in days}, loaded_years=frozenset(years))


def _int8(values: np.ndarray) -> pgcopy.Column:
    n = len(values)
    return pgcopy.Column(np.asarray(values).astype(">i8").view(np.uint8).reshape(-1), np.arange(n, dtype=np.int64) * 8,
                         np.full(n, 8, dtype=np.int64), 8)


def _timestamps(epoch: np.ndarray) -> pgcopy.Column:
    """timestamptz in binary COPY: microseconds since 2000-01-01 UTC."""
    return _int8(np.round((epoch - POSTGRES_EPOCH) * 1e6).astype(np.int64))


def _float4(values: np.ndarray) -> pgcopy.Column:
    n = len(values)
    return pgcopy.Column(np.asarray(values).astype(">f4").view(np.uint8).reshape(-1), np.arange(n, dtype=np.int64) * 4,
                         np.full(n, 4, dtype=np.int64), 4)


def _uuids(n: int, rng: np.random.Generator) -> pgcopy.Column:
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    return pgcopy.Column(raw.reshape(-1), np.arange(n, dtype=np.int64) * 16, np.full(n, 16, dtype=np.int64), 16)


def _copy_checkins(session: Session, c: patrols.Checkins, lonlat: np.ndarray, grid_ids: np.ndarray,
                   household_ids: np.ndarray, rng: np.random.Generator) -> None:
    order = np.argsort(c.at, kind="stable")  # month by month, as the partitions lie
    household = household_ids[np.maximum(c.household, 0)]
    pgcopy.copy(session, "checkin", {
        "id": _uuids(len(c), rng),
        "recorded_at": _timestamps(c.at[order]),
        "user_id": pgcopy.int4(c.user[order]),
        "grid_id": pgcopy.int4(grid_ids[c.grid[order]]),
        "grid_version": pgcopy.int4(np.ones(len(c), dtype=np.int32)),
        "geom": pgcopy.point(lonlat[order, 0], lonlat[order, 1], 4326),
        "accuracy_m": _float4(np.round(c.accuracy[order], 1)),
        "received_at": _timestamps((c.at + c.delay)[order]),
        "household_id": pgcopy.int4(household[order], null=(c.household[order] < 0)),
        "note": pgcopy.text(c.note[order]),
        "flags": pgcopy.text_array(pd.Series(c.flags[order])),
    })


def load_year(session: Session, district: District, residents: Residents, *, prefix: str, featured_grid: str,
              featured_units: list[str], now: datetime, months: int = 12, scale: float = 1.0, seed: int = 0,
              visit_tags: tuple[str, ...] = DEFAULT_VISIT_TAGS) -> YearSummary:
    """Generate and write ``months`` months before ``now`` (and today up to ``now``); ``scale``
    multiplies the hazards and the patrol days (the featured grid keeps its full patrols)."""
    started = time.monotonic()
    rng = np.random.default_rng(seed + YEAR_SEED_OFFSET)
    days = patrols.window(now, months)
    ensure_partitions(session, months, today=days[0])  # commits: partitions are infrastructure
    calendar = _calendar(session, days[0], days[-1])
    workdays = np.array([calendar.is_workday(d)[0] for d in days])
    month_workdays = []
    for k in range(months + 1):
        first = add_months(days[0], k)
        span = (add_months(first, 1) - first).days
        month_workdays.append([d for d in (first + timedelta(days=i) for i in range(span))
                               if calendar.is_workday(d)[0]])

    grids = district.grids
    codes = [g.code for g in grids]
    index = {code: i for i, code in enumerate(codes)}
    insert_colleagues(session, prefix, featured_grid, featured_units)
    staff = staff_of_grids(session, codes, prefix)
    trait_names, trait_p = list(TRAIT_SHARES), np.array(list(TRAIT_SHARES.values()))
    traits = [FEATURED_TRAIT if code == featured_grid else str(rng.choice(trait_names, p=trait_p)) for code in codes]

    h = residents.households
    homes_xy = np.array(h.xy)
    home_grid = np.array([index.get(code, -1) if code else -1 for code in h.grid_code])
    key_places = _key_places(session, district, prefix)
    households = np.bincount(home_grid[home_grid >= 0], minlength=len(grids))
    has_market = np.array([any(kind == "market" for kind, _, _ in key_places.get(code, [])) for code in codes])

    # Hazards.
    anchors = []
    for g, grid in enumerate(grids):
        mine = np.flatnonzero(home_grid == g)
        roads = district.streets[grid.code[:9]].roads
        anchors.append(hazard_places.grid_anchors(
            grid.metric, key_places.get(grid.code, []), homes_xy[mine], np.array(h.private_house)[mine],
            [h.address[i] for i in mine], roads, CITY_PREFIX, rng))
    plan = plan_hazards(monthly_rates(households, has_market, rng), days, workdays, scale, rng)
    rows = year_of_hazards(grids, anchors, staff, traits, plan, index.get(featured_grid), now, calendar,
                           deadline_rules(session), rng, duty_lookup(session, codes))
    hazard_lonlat = district.to_lonlat(np.array([r.xy for r in rows]).reshape(-1, 2))
    # The zoom pyramid is rebuilt below for the whole period: its per-statement trigger would
    # only do the same work twice (as scripts/bench does for its bulk loads).
    session.execute(text(f"ALTER TABLE hazard DISABLE TRIGGER {ROLLUP_INSERT_TRIGGER}"))
    events, hazard_ids = insert_hazards(session, rows, codes, hazard_lonlat)
    insert_assignments(session, hazard_ids, [row.result.steps for row in rows])
    insert_residents(session, hazard_ids, rows)
    session.execute(text(f"ALTER TABLE hazard ENABLE TRIGGER {ROLLUP_INSERT_TRIGGER}"))

    # Patrols and visits.
    tags = set(visit_tags)
    visit_homes = np.array([bool(tags.intersection(t)) for t in h.tags])
    places_xy = {code: np.array([spot for _, _, spot in items]) for code, items in key_places.items()}
    share = [1.0 if code == featured_grid else min(1.0, scale) for code in codes]
    checkins = patrols.year_of_checkins(grids, homes_xy, home_grid, visit_homes, places_xy,
                                        [s.worker.id for s in staff], traits, days, workdays, month_workdays, now,
                                        share, rng)
    grid_ids = np.array([gid for _, gid in sorted(session.execute(text(
        "SELECT code, id FROM grid WHERE code = ANY(:c)"), {"c": codes}).all(), key=lambda r: index[r[0]])])
    ids_by_code = dict(session.execute(text("SELECT code, id FROM household WHERE code LIKE :p"),
                                       {"p": prefix + "%"}).all())
    household_ids = np.array([ids_by_code[code] for code in h.code])
    _copy_checkins(session, checkins, district.to_lonlat(checkins.xy), grid_ids, household_ids, rng)
    add_missing_keys(session, [s.worker.id for s in staff], day_bounds(days[0])[0])
    party_visits = insert_visits(session, prefix=prefix, first=days[0], now=now, start=day_bounds(days[0])[0],
                                 featured_grid=featured_grid, scale=scale)

    first, until = days[0], days[-1] + timedelta(days=1)
    refresh_daily(session, since=first, until=until)  # commits the whole year with the daily cells
    refresh_rollup(session, since=first, until=until)
    # Statistics for the new rows; of the check-ins only this month's partition (today's patrols),
    # autovacuum gets to the older months.
    session.execute(text("ANALYZE hazard, hazard_event, app_user, party_visit"))
    part = session.scalar(text("SELECT checkin_partition_name(:m)"), {"m": days[-1]})
    session.execute(text(f'ANALYZE checkin_part."{part}"'))
    session.commit()
    return YearSummary(first=days[0], last=days[-1], hazards=len(rows), events=events, checkins=len(checkins),
                       visits=int((checkins.household >= 0).sum()), seconds=time.monotonic() - started,
                       party_visits=party_visits)

