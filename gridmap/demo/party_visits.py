"""The demo's party members' visits (走访): each contact household, in each month of the demo's
window, is visited by its party member or not — at a rate of its grid's own (55–98 %) — on a
weekday-agnostic day between the 1st and the 28th, 09:00–19:59 Beijing time, from near its door.

One INSERT … SELECT over party_contact × the months; every choice is a digest of the household's
code and the month (md5), so the same district and ``now`` give the same rows. ``scale`` thins the
visits out as it thins the patrols (the featured grid keeps all of its)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.clock import as_local

_INSERT = text("""
WITH m AS (
    SELECT CAST(month AS date) AS month FROM generate_series(CAST(:first AS date), CAST(:last AS date),
                                                           interval '1 month') AS month
), draw AS (
    SELECT h.id AS household_id, h.code, h.geom, pc.party_member_id, g.code AS grid_code, m.month,
           ('x' || substr(md5(h.code || m.month), 1, 8))::bit(32)::bigint AS pick,
           ('x' || substr(md5(h.code || m.month), 9, 8))::bit(32)::bigint AS at,
           ('x' || substr(md5(g.code), 1, 8))::bit(32)::bigint % 1000 AS grid_rate
    FROM party_contact pc
    JOIN household h ON h.id = pc.household_id
    JOIN grid g ON g.id = h.grid_id
    CROSS JOIN m
    WHERE g.code LIKE :prefix
), visit AS (
    SELECT *, (month + make_interval(days => (at % 28)::int, hours => 9 + (at / 28 % 11)::int,
                                     mins => (at / 308 % 60)::int)) AT TIME ZONE 'Asia/Shanghai' AS visited_at
    FROM draw
    WHERE pick % 1000 < (550 + 0.43 * grid_rate) * CASE WHEN grid_code = :featured THEN 1 ELSE :scale END
)
INSERT INTO party_visit (client_id, household_id, party_member_id, visited_at, received_at, note, geom, accuracy_m)
SELECT CAST(md5('visit' || code || month) AS uuid), household_id, party_member_id, visited_at,
       visited_at + make_interval(secs => 5 + at % 600), '',
       ST_SetSRID(ST_MakePoint(ST_X(geom) + ((at / 18480) % 21 - 10) * 0.00001,
                               ST_Y(geom) + ((at / 388080) % 21 - 10) * 0.00001), 4326),
       8 + at % 25
FROM visit
WHERE visited_at >= :start AND visited_at <= :now
ON CONFLICT (client_id) DO NOTHING
""")


def insert_visits(session: Session, *, prefix: str, first: date, now: datetime, start: datetime,
                  featured_grid: str, scale: float = 1.0) -> int:
    """The visits of the months from ``first``'s to ``now``'s, between ``start`` and ``now``; their count."""
    return session.execute(_INSERT, {"prefix": prefix + "%", "first": first.replace(day=1), "last": as_local(now).date(),
                                     "start": start, "now": now, "featured": featured_grid,
                                     "scale": min(1.0, scale)}).rowcount
