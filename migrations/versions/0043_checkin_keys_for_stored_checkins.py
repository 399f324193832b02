"""Every check-in has its idempotency key: write the keys that check-ins loaded in bulk (the
demo's year until now) never got. Without its key a stored check-in sent again was taken as
new: a second row under the same id in another month, or a unique violation (a 500) in the
same one. The first answer is read from the row, as gridmap.patrol.keys does for bulk loads:
rank 3 without a grid, 2 flagged outside, else 0. One statement; the keys of ids stored twice
take the earliest row.

Revision ID: 0043
Revises: 0042
"""
from alembic import op

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        INSERT INTO checkin_key (id, user_id, recorded_at, received_at, rank, grid, grid_name, flags, household_code)
        SELECT DISTINCT ON (c.id) c.id, c.user_id, c.recorded_at, c.received_at,
               CASE WHEN c.grid_id IS NULL THEN 3 WHEN 'outside_grid' = ANY(c.flags) THEN 2 ELSE 0 END,
               g.code, g.name, c.flags, h.code
          FROM checkin c
          LEFT JOIN grid g ON g.id = c.grid_id
          LEFT JOIN household h ON h.id = c.household_id
         WHERE NOT EXISTS (SELECT 1 FROM checkin_key k WHERE k.id = c.id)
         ORDER BY c.id, c.recorded_at
    """)


def downgrade() -> None:
    pass  # the keys stay: they are what the check-ins should have had
