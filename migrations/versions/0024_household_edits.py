"""Household edits (基础信息采集): every household gets a ``version`` (optimistic concurrency) and
a ``status`` (active, moved out, merged into another), and every change is a row of
``household_change`` (before and after as JSONB, author, device, time, and for a grid worker's
edit of sensitive fields the approval it waits for). Existing households are version 1, active.

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('household', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('household', sa.Column('status', sa.String(length=16), server_default='active', nullable=False))
    op.add_column('household', sa.Column('merged_into_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_household_merged_into_id_household'), 'household', 'household',
                          ['merged_into_id'], ['id'], ondelete='SET NULL')
    op.create_check_constraint(op.f('ck_household_status_known'), 'household',
                               "status IN ('active', 'moved_out', 'merged')")
    op.create_check_constraint(op.f('ck_household_inactive_has_no_grid'), 'household',
                               "status = 'active' OR grid_id IS NULL")
    op.create_table(
        'household_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('grid_code', sa.String(length=24), nullable=True),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('author_name', sa.Text(), nullable=False),
        sa.Column('device', sa.Text(), server_default='', nullable=False),
        sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('decided_by', sa.Text(), nullable=True),
        sa.Column('decided_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.CheckConstraint("kind IN ('create', 'edit')", name=op.f('ck_household_change_kind_known')),
        sa.CheckConstraint("status IN ('applied', 'pending', 'approved', 'rejected')",
                           name=op.f('ck_household_change_status_known')),
        sa.CheckConstraint("(version IS NULL) = (status IN ('pending', 'rejected'))",
                           name=op.f('ck_household_change_versioned_when_applied')),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_change_household_id_household'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_household_change_author_id_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_household_change')),
    )
    op.create_index('ix_household_change_household_id', 'household_change', ['household_id', 'id'])
    op.create_index('ix_household_change_pending', 'household_change', ['grid_code'],
                    postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index('ix_household_change_pending', table_name='household_change')
    op.drop_index('ix_household_change_household_id', table_name='household_change')
    op.drop_table('household_change')
    op.drop_constraint(op.f('ck_household_inactive_has_no_grid'), 'household', type_='check')
    op.drop_constraint(op.f('ck_household_status_known'), 'household', type_='check')
    op.drop_constraint(op.f('fk_household_merged_into_id_household'), 'household', type_='foreignkey')
    op.drop_column('household', 'merged_into_id')
    op.drop_column('household', 'status')
    op.drop_column('household', 'version')
