"""Where each grid and key place stands against its patrol plan in the current period: one
statement for a whole area, beside the model.

The effective plan of a grid is the plan set at the longest of its code's prefixes (district 6,
street 9, community 12, the grid's own 15 digits); of a key place, its own plan, else the
longest of its grid's prefixes. ``done`` counts the Beijing days of the period with a check-in
that is not ``future_time`` or ``impossible_speed``: in the grid (the check-in's grid), or within
``radius`` metres of the place (grids near the place found on the grid GiST index, their
check-ins on (grid_id, recorded_at), the distance on geography). A check-in outside every grid
never counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap import clock

# Check-ins that prove nothing about where a worker was.
UNTRUSTED_FLAGS = ["future_time", "impossible_speed"]
# Metres to degrees for the index's bounding test: a degree of longitude is at least this many
# metres up to 57° north (all of China), so the box never cuts a circle short.
_METRES_PER_DEGREE_FLOOR = 60_000.0


def period_bounds(now: datetime) -> dict[str, tuple[datetime, datetime]]:
    """The Beijing day, week (from Monday 00:00) and month that hold ``now``."""
    day = clock.today(now)
    return {"day": clock.day_bounds(day), **{kind: clock.period_of(kind, day).bounds() for kind in ("week", "month")}}


_PREFIXES = "ARRAY[left({code}, 6), left({code}, 9), left({code}, 12), {code}]"

STATUS_SQL = f"""
WITH periods(period, start_at, end_at) AS (
    VALUES ('day', CAST(:day_start AS timestamptz), CAST(:day_end AS timestamptz)),
           ('week', CAST(:week_start AS timestamptz), CAST(:week_end AS timestamptz)),
           ('month', CAST(:month_start AS timestamptz), CAST(:month_end AS timestamptz))
),
grids AS (
    SELECT g.id, g.code, g.name FROM grid g
    WHERE g.retired_at IS NULL AND g.kind = 'map' AND g.code LIKE :pattern
),
grid_plans AS (
    SELECT DISTINCT ON (g.id) g.id, g.code, g.name, p.period, p.min_count, p.area_code AS set_at
    FROM grids g JOIN patrol_plan p
      ON p.subject = 'grid' AND p.key_place_id IS NULL AND p.area_code = ANY({_PREFIXES.format(code="g.code")})
    WHERE :subject IN ('', 'grid')
    ORDER BY g.id, length(p.area_code) DESC
),
place_plans AS (
    SELECT DISTINCT ON (kp.id) kp.id, kp.name, kp.kind, kp.geom, g.id AS grid_id, g.code, g.name AS grid_name,
           p.period, p.min_count, CASE WHEN p.key_place_id IS NULL THEN p.area_code END AS set_at
    FROM key_place kp JOIN grids g ON g.id = kp.grid_id
    JOIN patrol_plan p ON p.subject = 'place'
      AND (p.key_place_id = kp.id OR (p.key_place_id IS NULL AND p.area_code = ANY({_PREFIXES.format(code="g.code")})))
    WHERE :subject IN ('', 'place')
    ORDER BY kp.id, (p.key_place_id IS NOT NULL) DESC, length(p.area_code) DESC
),
rows AS (
    SELECT 'grid' AS subject, gp.code, gp.name AS grid_name, NULL::int AS place_id, NULL::text AS place_name,
           NULL::text AS place_kind, NULL::float8 AS lon, NULL::float8 AS lat, gp.period, gp.min_count, gp.set_at,
           pr.start_at, pr.end_at, d.done
    FROM grid_plans gp JOIN periods pr USING (period)
    CROSS JOIN LATERAL (
        SELECT count(DISTINCT (c.recorded_at AT TIME ZONE '{clock.CHINA_SQL}')::date) AS done
        FROM checkin c
        WHERE c.grid_id = gp.id AND c.recorded_at >= pr.start_at AND c.recorded_at < pr.end_at
          AND NOT c.flags && CAST(:untrusted AS text[])
    ) d
    UNION ALL
    SELECT 'place', pp.code, pp.grid_name, pp.id, pp.name, pp.kind, ST_X(pp.geom), ST_Y(pp.geom), pp.period,
           pp.min_count, pp.set_at, pr.start_at, pr.end_at, d.done
    FROM place_plans pp JOIN periods pr USING (period)
    CROSS JOIN LATERAL (
        SELECT count(DISTINCT (c.recorded_at AT TIME ZONE '{clock.CHINA_SQL}')::date) AS done
        FROM grid near JOIN checkin c ON c.grid_id = near.id
        WHERE ST_DWithin(near.geom, pp.geom, :degrees)
          AND c.recorded_at >= pr.start_at AND c.recorded_at < pr.end_at
          AND NOT c.flags && CAST(:untrusted AS text[])
          AND ST_DWithin(c.geom::geography, pp.geom::geography, :radius)
    ) d
)
SELECT *, count(*) OVER () AS total FROM rows
WHERE min_count > 0 AND (NOT :behind_only OR done < min_count)
ORDER BY min_count - done DESC, code, subject, place_name, place_id
LIMIT :limit OFFSET :offset
"""


def plan_status(session: Session, pattern: str, *, now: datetime, radius_m: float, subject: str = "",
                behind_only: bool = True, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Grids and places under ``pattern`` (a scope's LIKE pattern) with an effective plan that
    asks for something: required (``min_count``) and ``done`` this period; with ``behind_only``
    those whose ``done`` falls short. Most short first. Returns (rows, total)."""
    bounds = period_bounds(now)
    params = {f"{name}_{edge}": moment.isoformat() for name, (start, end) in bounds.items()
              for edge, moment in (("start", start), ("end", end))}
    rows = session.execute(text(STATUS_SQL), {
        **params, "pattern": pattern, "subject": subject, "untrusted": UNTRUSTED_FLAGS,
        "degrees": radius_m / _METRES_PER_DEGREE_FLOOR, "radius": radius_m, "behind_only": behind_only,
        "limit": limit, "offset": offset,
    }).mappings().all()
    total = rows[0]["total"] if rows else 0
    return [_item(r) for r in rows], int(total)


def _item(row: Any) -> dict[str, Any]:
    item = {"subject": row["subject"], "grid": row["code"], "grid_name": row["grid_name"],
            "period": row["period"], "period_start": clock.as_local(row["start_at"]).isoformat(),
            "period_end": clock.as_local(row["end_at"]).isoformat(), "required": row["min_count"],
            "done": row["done"], "behind": row["done"] < row["min_count"], "set_at": row["set_at"]}
    if row["subject"] == "place":
        item.update(place_id=row["place_id"], place_name=row["place_name"], place_kind=row["place_kind"],
                    lon=row["lon"], lat=row["lat"])
    return item
