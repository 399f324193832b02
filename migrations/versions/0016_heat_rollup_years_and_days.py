"""Heatmap zoom pyramid: Beijing years ('y'), months ('m') and days ('d') instead of months and ISO
weeks, so any range of whole days is answered from whole periods, and levels 14 and 15 (a
screen-sized view at zooms 14–15 holds too many hazards to count them). Days are kept at the
levels up to DAY_LEVEL_MAX only: at the finer levels nearly every hazard sits alone in its cell,
so a day row would copy the hazard table — there the days left over beside whole months (under a
month at each end) are counted from the hazards (gridmap.hazards.heatmap.plan_periods). The
primary key INCLUDEs n, so a view is an index-only scan.

Revision ID: 0016
Revises: 0014
"""
from alembic import op

revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


COLUMNS = "geom, created_at, grid_code, category_code"
DAY_LEVEL_MAX = 13  # gridmap.hazards.heatmap.DAY_LEVEL_MAX


def _upsert(kinds: str, source: str) -> str:
    """Rows of ``source`` (geom, created_at, grid_code, category_code, sign) added into the pyramid
    for the period kinds ``kinds`` (a VALUES list of (kind, date_trunc unit, finest level kept)),
    as in migration 0012."""
    return f"""
INSERT INTO hazard_heat_rollup AS r (level, period_kind, period, street, category_code, ix, iy, n)
SELECT level, kind, period, street, coalesce(cat, ''), ix, iy, sum(sign)
  FROM (SELECT l.level, k.kind, date_trunc(k.unit, s.created_at AT TIME ZONE 'Asia/Shanghai')::date AS period,
               left(s.grid_code, 9) AS street, s.category_code AS cat,
               round(ST_X(ST_SnapToGrid(s.geom, l.size)) / l.size)::int AS ix,
               round(ST_Y(ST_SnapToGrid(s.geom, l.size)) / l.size)::int AS iy, s.sign
          FROM ({source}) s JOIN (VALUES {kinds}) k(kind, unit, top) ON TRUE
          JOIN hazard_heat_level l ON l.level <= k.top) x
 GROUP BY GROUPING SETS ((level, kind, period, street, cat, ix, iy), (level, kind, period, street, ix, iy))
HAVING sum(sign) <> 0
    ON CONFLICT (level, period_kind, category_code, period, street, ix, iy) DO UPDATE SET n = r.n + EXCLUDED.n;
"""


def _function(kinds: str) -> str:
    """The trigger function of migration 0012 over the period kinds ``kinds``."""
    changed = ("o.geom IS DISTINCT FROM n.geom OR o.created_at IS DISTINCT FROM n.created_at "
               "OR o.grid_code IS DISTINCT FROM n.grid_code OR o.category_code IS DISTINCT FROM n.category_code")
    return f"""
CREATE OR REPLACE FUNCTION hazard_heat_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_upsert(kinds, f"SELECT {COLUMNS}, 1 AS sign FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {_upsert(kinds, f"SELECT {COLUMNS}, -1 AS sign FROM old_rows")}
    ELSIF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed}) THEN
        {_upsert(kinds, (
            "SELECT o.geom, o.created_at, o.grid_code, o.category_code, -1 AS sign "
            f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed} UNION ALL "
            "SELECT n.geom, n.created_at, n.grid_code, n.category_code, 1 "
            f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {changed}"))}
    END IF;
    RETURN NULL;
END $$;
"""


NEW_LEVELS = {14: 0.0013733, 15: 0.0006866}  # as migration 0012: 16 px of a 256-px tile, to 1e-7 degrees
KINDS = f"('y', 'year', {max(NEW_LEVELS)}), ('m', 'month', {max(NEW_LEVELS)}), ('d', 'day', {DAY_LEVEL_MAX})"
OLD_KINDS = f"('m', 'month', {min(NEW_LEVELS) - 1}), ('w', 'week', {min(NEW_LEVELS) - 1})"
KEY = "level, period_kind, category_code, period, street, ix, iy"


def _primary_key(include: str) -> None:
    op.execute("ALTER TABLE hazard_heat_rollup DROP CONSTRAINT pk_hazard_heat_rollup")
    op.execute(f"ALTER TABLE hazard_heat_rollup ADD CONSTRAINT pk_hazard_heat_rollup PRIMARY KEY ({KEY}){include}")


def _kinds(known: str, kinds: str) -> None:
    """Empty the pyramid, allow the period kinds ``known``, and rebuild it for ``kinds`` from the hazards."""
    op.execute("DELETE FROM hazard_heat_rollup")
    op.execute("ALTER TABLE hazard_heat_rollup DROP CONSTRAINT ck_hazard_heat_rollup_period_kind_known")
    op.execute("ALTER TABLE hazard_heat_rollup ADD CONSTRAINT ck_hazard_heat_rollup_period_kind_known "
               f"CHECK (period_kind IN ({known}))")
    op.execute(_function(kinds))
    op.execute(_upsert(kinds, f"SELECT {COLUMNS}, 1 AS sign FROM hazard"))


def upgrade() -> None:
    op.execute("INSERT INTO hazard_heat_level (level, size) VALUES "
               + ", ".join(f"({level}, {size!r})" for level, size in NEW_LEVELS.items()))
    _kinds("'y', 'm', 'd'", KINDS)
    _primary_key(" INCLUDE (n)")


def downgrade() -> None:
    _primary_key("")
    op.execute(f"DELETE FROM hazard_heat_level WHERE level >= {min(NEW_LEVELS)}")
    _kinds("'m', 'w'", OLD_KINDS)
