"""Heatmap zoom pyramid: hazards per (zoom level, month or ISO week, street, category, cell),
kept by a statement-level trigger on hazard (every write path, COPY included).

Revision ID: 0012
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0007'
branch_labels = None
depends_on = None

# Cell sizes the API picks per zoom (gridmap.hazards.heatmap.cell_size: 16 px of a 256-px tile,
# rounded to 1e-7 degrees). Kept in a table so the trigger, the rebuild and the API agree.
LEVELS = {6: 0.3515625, 7: 0.1757812, 8: 0.0878906, 9: 0.0439453, 10: 0.0219727, 11: 0.0109863,
          12: 0.0054932, 13: 0.0027466}

# Rows s(geom, created_at, grid_code, category_code, sign) → one delta per
# (level, kind, period, street, category or '' for all categories, cell).
AGGREGATE = """
SELECT level, kind, period, street, coalesce(cat, ''), ix, iy, sum(sign)
  FROM (SELECT l.level, k.kind,
               date_trunc(CASE k.kind WHEN 'm' THEN 'month' ELSE 'week' END,
                          s.created_at AT TIME ZONE 'Asia/Shanghai')::date AS period,
               left(s.grid_code, 9) AS street, s.category_code AS cat,
               round(ST_X(ST_SnapToGrid(s.geom, l.size)) / l.size)::int AS ix,
               round(ST_Y(ST_SnapToGrid(s.geom, l.size)) / l.size)::int AS iy, s.sign
          FROM ({source}) s CROSS JOIN hazard_heat_level l CROSS JOIN (VALUES ('m'), ('w')) k(kind)) x
 GROUP BY GROUPING SETS ((level, kind, period, street, cat, ix, iy), (level, kind, period, street, ix, iy))
HAVING sum(sign) <> 0
"""
UPSERT = ("INSERT INTO hazard_heat_rollup AS r (level, period_kind, period, street, category_code, ix, iy, n) "
          + AGGREGATE + " ON CONFLICT (level, period_kind, category_code, period, street, ix, iy) "
          "DO UPDATE SET n = r.n + EXCLUDED.n;")
COLUMNS = "geom, created_at, grid_code, category_code"
CHANGED = ("o.geom IS DISTINCT FROM n.geom OR o.created_at IS DISTINCT FROM n.created_at "
           "OR o.grid_code IS DISTINCT FROM n.grid_code OR o.category_code IS DISTINCT FROM n.category_code")

FUNCTION = f"""
CREATE FUNCTION hazard_heat_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {UPSERT.format(source=f"SELECT {COLUMNS}, 1 AS sign FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {UPSERT.format(source=f"SELECT {COLUMNS}, -1 AS sign FROM old_rows")}
    ELSIF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {CHANGED}) THEN
        {UPSERT.format(source=(
            "SELECT o.geom, o.created_at, o.grid_code, o.category_code, -1 AS sign "
            f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {CHANGED} UNION ALL "
            "SELECT n.geom, n.created_at, n.grid_code, n.category_code, 1 "
            f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {CHANGED}"))}
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        'hazard_heat_level',
        sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('size', sa.Float(), nullable=False),
        sa.CheckConstraint('size > 0', name=op.f('ck_hazard_heat_level_size_positive')),
        sa.PrimaryKeyConstraint('level', name=op.f('pk_hazard_heat_level')),
    )
    op.create_table(
        'hazard_heat_rollup',
        sa.Column('level', sa.SmallInteger(), nullable=False),
        sa.Column('period_kind', sa.String(length=1), nullable=False),
        sa.Column('category_code', sa.String(length=32), nullable=False),
        sa.Column('period', sa.Date(), nullable=False),
        sa.Column('street', sa.String(length=9), nullable=False),
        sa.Column('ix', sa.Integer(), nullable=False),
        sa.Column('iy', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.CheckConstraint("period_kind IN ('m', 'w')", name=op.f('ck_hazard_heat_rollup_period_kind_known')),
        sa.PrimaryKeyConstraint('level', 'period_kind', 'category_code', 'period', 'street', 'ix', 'iy',
                                name=op.f('pk_hazard_heat_rollup')),
    )
    op.execute("INSERT INTO hazard_heat_level (level, size) VALUES "
               + ", ".join(f"({level}, {size!r})" for level, size in LEVELS.items()))
    op.execute(FUNCTION)
    for event, table in (("INSERT", "NEW TABLE AS new_rows"), ("DELETE", "OLD TABLE AS old_rows"),
                         ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows")):
        op.execute(f"CREATE TRIGGER hazard_heat_rollup_{event.lower()} AFTER {event} ON hazard "
                   f"REFERENCING {table} FOR EACH STATEMENT EXECUTE FUNCTION hazard_heat_rollup_apply()")
    # Backfill from hazards already reported.
    op.execute(UPSERT.format(source=f"SELECT {COLUMNS}, 1 AS sign FROM hazard"))


def downgrade() -> None:
    for event in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER hazard_heat_rollup_{event} ON hazard")
    op.execute("DROP FUNCTION hazard_heat_rollup_apply()")
    op.drop_table('hazard_heat_rollup')
    op.drop_table('hazard_heat_level')
