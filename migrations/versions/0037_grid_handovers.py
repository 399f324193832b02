"""Grid handovers (责任交接): a frozen snapshot of a grid when its worker changes, kept with the grid.

Revision ID: 0037
Revises: 0039
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0037'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'grid_handover',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('grid_code', sa.String(length=24), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('outgoing', sa.Text(), server_default='', nullable=False),
        sa.Column('incoming', sa.Text(), server_default='', nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint("reason IN ('staff_change', 'manual')", name=op.f('ck_grid_handover_reason_known')),
        sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_grid_handover_created_by_id_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_grid_handover')),
    )
    op.create_index('ix_grid_handover_grid_code', 'grid_handover', ['grid_code', 'created_at'])


def downgrade() -> None:
    op.drop_table('grid_handover')
