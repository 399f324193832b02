"""Patrol plans (巡查计划): how often each grid is patrolled and each key place visited, set per
area (inherited), per grid or per key place; the most specific plan wins.

Revision ID: 0027
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0027'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'patrol_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=8), nullable=False),
        sa.Column('area_code', sa.String(length=24), nullable=False),
        sa.Column('key_place_id', sa.Integer(), nullable=True),
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('min_count', sa.SmallInteger(), nullable=False),
        sa.Column('updated_by', sa.Text(), server_default='', nullable=False),
        sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("subject IN ('grid', 'place')", name=op.f('ck_patrol_plan_subject_known')),
        sa.CheckConstraint("period IN ('day', 'week', 'month')", name=op.f('ck_patrol_plan_period_known')),
        sa.CheckConstraint("min_count >= 0 AND min_count <= CASE period WHEN 'day' THEN 1 WHEN 'week' THEN 7 ELSE 31 END",
                           name=op.f('ck_patrol_plan_min_count_fits_period')),
        sa.CheckConstraint("subject = 'place' OR key_place_id IS NULL", name=op.f('ck_patrol_plan_place_plan_names_place')),
        sa.CheckConstraint("area_code ~ '^([0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15})$'",
                           name=op.f('ck_patrol_plan_area_code_digits')),
        sa.ForeignKeyConstraint(['key_place_id'], ['key_place.id'], name=op.f('fk_patrol_plan_key_place_id_key_place'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_plan')),
    )
    op.create_index('ux_patrol_plan_area', 'patrol_plan', ['subject', 'area_code'], unique=True,
                    postgresql_where=sa.text('key_place_id IS NULL'))
    op.create_index('ux_patrol_plan_place', 'patrol_plan', ['key_place_id'], unique=True,
                    postgresql_where=sa.text('key_place_id IS NOT NULL'))
    op.create_index('ix_patrol_plan_area_code_prefix', 'patrol_plan', ['area_code'],
                    postgresql_ops={'area_code': 'varchar_pattern_ops'})


def downgrade() -> None:
    op.drop_table('patrol_plan')
