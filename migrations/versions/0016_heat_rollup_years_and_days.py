"""Heatmap zoom pyramid: add Beijing years ('y') and days ('d') to the months and ISO weeks, so
any range of whole days is answered from hazard_heat_rollup alone (never the hazard table), and
levels 14 and 15 (a screen-sized view at zooms 14–15 holds too many hazards to count them); the
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


def _upsert(kinds: str, source: str, levels: str = "TRUE") -> str:
    """Rows of ``source`` (geom, created_at, grid_code, category_code, sign) added into the pyramid
    for the period kinds ``kinds`` (a VALUES list of (kind, date_trunc unit)) at the levels where
    ``levels`` holds, as in migration 0012."""
    return f"""
INSERT INTO hazard_heat_rollup AS r (level, period_kind, period, street, category_code, ix, iy, n)
SELECT level, kind, period, street, coalesce(cat, ''), ix, iy, sum(sign)
  FROM (SELECT l.level, k.kind, date_trunc(k.unit, s.created_at AT TIME ZONE 'Asia/Shanghai')::date AS period,
               left(s.grid_code, 9) AS street, s.category_code AS cat,
               round(ST_X(ST_SnapToGrid(s.geom, l.size)) / l.size)::int AS ix,
               round(ST_Y(ST_SnapToGrid(s.geom, l.size)) / l.size)::int AS iy, s.sign
          FROM ({source}) s CROSS JOIN hazard_heat_level l CROSS JOIN (VALUES {kinds}) k(kind, unit)
         WHERE {levels}) x
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


ALL_KINDS = "('y', 'year'), ('m', 'month'), ('w', 'week'), ('d', 'day')"
OLD_KINDS = "('m', 'month'), ('w', 'week')"
NEW_LEVELS = {14: 0.0013733, 15: 0.0006866}  # as migration 0012: 16 px of a 256-px tile, to 1e-7 degrees
KEY = "level, period_kind, category_code, period, street, ix, iy"


def _primary_key(include: str) -> None:
    op.execute("ALTER TABLE hazard_heat_rollup DROP CONSTRAINT pk_hazard_heat_rollup")
    op.execute(f"ALTER TABLE hazard_heat_rollup ADD CONSTRAINT pk_hazard_heat_rollup PRIMARY KEY ({KEY}){include}")


def upgrade() -> None:
    op.execute("ALTER TABLE hazard_heat_rollup DROP CONSTRAINT ck_hazard_heat_rollup_period_kind_known")
    op.execute("ALTER TABLE hazard_heat_rollup ADD CONSTRAINT ck_hazard_heat_rollup_period_kind_known "
               "CHECK (period_kind IN ('y', 'm', 'w', 'd'))")
    op.execute(_function(ALL_KINDS))
    # Backfill the new kinds from hazards already reported.
    op.execute(_upsert("('y', 'year'), ('d', 'day')", f"SELECT {COLUMNS}, 1 AS sign FROM hazard"))
    op.execute("INSERT INTO hazard_heat_level (level, size) VALUES "
               + ", ".join(f"({level}, {size!r})" for level, size in NEW_LEVELS.items()))
    op.execute(_upsert(ALL_KINDS, f"SELECT {COLUMNS}, 1 AS sign FROM hazard", f"l.level >= {min(NEW_LEVELS)}"))
    _primary_key(" INCLUDE (n)")


def downgrade() -> None:
    _primary_key("")
    op.execute(f"DELETE FROM hazard_heat_rollup WHERE period_kind IN ('y', 'd') OR level >= {min(NEW_LEVELS)}")
    op.execute(f"DELETE FROM hazard_heat_level WHERE level >= {min(NEW_LEVELS)}")
    op.execute(_function(OLD_KINDS))
    op.execute("ALTER TABLE hazard_heat_rollup DROP CONSTRAINT ck_hazard_heat_rollup_period_kind_known")
    op.execute("ALTER TABLE hazard_heat_rollup ADD CONSTRAINT ck_hazard_heat_rollup_period_kind_known "
               "CHECK (period_kind IN ('m', 'w'))")
