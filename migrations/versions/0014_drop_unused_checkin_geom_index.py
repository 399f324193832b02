"""Drop the GiST index on checkin.geom: no query filters check-ins by location (tracks and
coverage read them by worker and day, the map by area code), and keeping it cost about
10 µs per inserted row on the batch-sync path.

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_checkin_geom")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_checkin_geom ON checkin USING gist (geom)")
