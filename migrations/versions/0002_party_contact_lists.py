"""Party contact lists: the grid staff of the contact handbook (网格干部联系手册).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grid_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('organisation', sa.Text(), server_default='', nullable=False),
    sa.Column('duty', sa.Text(), server_default='', nullable=False),
    sa.Column('sort_order', sa.SmallInteger(), server_default='0', nullable=False),
    sa.CheckConstraint("role IN ('grid_leader', 'grid_worker', 'police', 'department', 'other')", name=op.f('ck_grid_staff_role_known')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_grid_staff_grid_id_grid'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_staff'))
    )
    op.create_index('ix_grid_staff_grid_id', 'grid_staff', ['grid_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_grid_staff_grid_id', table_name='grid_staff')
    op.drop_table('grid_staff')
