"""The accounts each client address logs in with: spared the per-account and per-address login
throttles, so users behind a sprayer's NAT or proxy still log in (gridmap.auth.throttle).

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'login_address',
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('last_success_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('username', 'address', name=op.f('pk_login_address')),
    )
    op.create_index('ix_login_address_last_success_at', 'login_address', ['last_success_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_address_last_success_at', table_name='login_address')
    op.drop_table('login_address')
