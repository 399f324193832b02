"""Check-in keys keep their first answer in columns (rank, grid, grid name, flags, household
code) instead of a JSONB document: building the document cost a sixth of PostgreSQL's CPU per
synced check-in. Keys stored before keep their document (``answer``, now NULL for new keys);
gridmap.patrol.service reads both. Catalog changes only: no table rewrite, however many keys.

Revision ID: 0041
Revises: 0036
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0041'
down_revision = '0036'
branch_labels = None
depends_on = None

COLUMNS = (("rank", sa.SmallInteger()), ("grid", sa.Text()), ("grid_name", sa.Text()),
           ("flags", postgresql.ARRAY(sa.Text())), ("household_code", sa.Text()))


def upgrade() -> None:
    op.alter_column("checkin_key", "answer", nullable=True)
    for name, type_ in COLUMNS:
        op.add_column("checkin_key", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # the document the statement built before (gridmap.patrol.service.answer, status "created")
    op.execute("""
        UPDATE checkin_key SET answer = jsonb_build_object(
            'id', id::text, 'status', 'created', 'grid', grid, 'grid_name', grid_name, 'in_own_grid', rank < 2,
            'position', CASE rank WHEN 0 THEN 'inside' WHEN 1 THEN 'near' ELSE 'outside' END,
            'flags', to_jsonb(flags),
            'recorded_at', to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || CASE WHEN extract(microseconds FROM recorded_at)::int % 1000000 = 0 THEN ''
                        ELSE to_char(recorded_at AT TIME ZONE 'UTC', '.US') END || '+00:00',
            'household_code', household_code)
         WHERE answer IS NULL
    """)
    for name, _ in reversed(COLUMNS):
        op.drop_column("checkin_key", name)
    op.alter_column("checkin_key", "answer", nullable=False)
