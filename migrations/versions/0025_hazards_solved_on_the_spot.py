"""Hazards solved on the spot (就地解决) and supervisors' notes (督办): ``hazard.resolution``
(NULL along the loop, ``on_the_spot`` for a problem a grid worker found and fixed in one step,
only on a closed hazard), ``hazard_photo.stage`` (before / after the fix), a partial index for
sampling the fixes made on the spot by area, and one for the ``supervise`` events by time.

Revision ID: 0025
Revises: 0028
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('hazard', sa.Column('resolution', sa.String(length=16), nullable=True))
    op.create_check_constraint(op.f('ck_hazard_resolution_known'), 'hazard',
                               "resolution IS NULL OR (resolution IN ('on_the_spot') AND status = 'closed')")
    op.create_index('ix_hazard_on_the_spot', 'hazard', ['grid_code'],
                    postgresql_ops={'grid_code': 'varchar_pattern_ops'},
                    postgresql_where=sa.text('resolution IS NOT NULL'))
    op.add_column('hazard_photo', sa.Column('stage', sa.String(length=8), nullable=True))
    op.create_check_constraint(op.f('ck_hazard_photo_stage_known'), 'hazard_photo',
                               "stage IS NULL OR stage IN ('before', 'after')")
    op.create_index('ix_hazard_event_supervise_at', 'hazard_event', ['at', 'hazard_id'],
                    postgresql_where=sa.text("action = 'supervise'"))


def downgrade() -> None:
    op.drop_index('ix_hazard_event_supervise_at', table_name='hazard_event')
    op.drop_constraint(op.f('ck_hazard_photo_stage_known'), 'hazard_photo', type_='check')
    op.drop_column('hazard_photo', 'stage')
    op.drop_index('ix_hazard_on_the_spot', table_name='hazard')
    op.drop_constraint(op.f('ck_hazard_resolution_known'), 'hazard', type_='check')
    op.drop_column('hazard', 'resolution')
