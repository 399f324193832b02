"""A lighter write path for check-ins, the busiest table (every synced row paid for each of these):

* the household index covers only check-ins that log a visit: most check-ins name no household,
  and every lookup of visits names one;
* checkin_key's recorded_at index, used only by retention to delete old months, becomes a BRIN
  (keys arrive in time order);
* checkin drops its foreign key to grid. A check-in is an append-only log row whose grid_id the
  inserting statement itself takes from the grid table, and grids are retired, never deleted (no
  code path deletes one; ids are never reused), so the key guarded nothing, while its check made
  every synced row lock its grid's row (FOR KEY SHARE: a MultiXact when a grid's workers sync at
  once) for about 3 µs a row.

Revision ID: 0021
Revises: 0020
"""
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX ix_checkin_household_id")
    op.execute("CREATE INDEX ix_checkin_household_id ON checkin (household_id) WHERE household_id IS NOT NULL")
    op.execute("DROP INDEX ix_checkin_key_recorded_at")
    op.execute("CREATE INDEX ix_checkin_key_recorded_at ON checkin_key USING brin (recorded_at)")
    op.execute("ALTER TABLE checkin DROP CONSTRAINT fk_checkin_grid_id_grid")


def downgrade() -> None:
    op.execute("UPDATE checkin c SET grid_id = NULL WHERE NOT EXISTS (SELECT 1 FROM grid g WHERE g.id = c.grid_id)")
    op.execute("ALTER TABLE checkin ADD CONSTRAINT fk_checkin_grid_id_grid "
               "FOREIGN KEY (grid_id) REFERENCES grid (id) ON DELETE SET NULL")
    op.execute("DROP INDEX ix_checkin_key_recorded_at")
    op.execute("CREATE INDEX ix_checkin_key_recorded_at ON checkin_key (recorded_at)")
    op.execute("DROP INDEX ix_checkin_household_id")
    op.execute("CREATE INDEX ix_checkin_household_id ON checkin (household_id)")
