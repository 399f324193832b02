"""Failed logins, counted per account and per address to throttle guessing (429).

Revision ID: 0009
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'login_failure',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure')),
    )
    op.create_index('ix_login_failure_username_at', 'login_failure', ['username', 'at'], unique=False)
    op.create_index('ix_login_failure_address_at', 'login_failure', ['address', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_failure_address_at', table_name='login_failure')
    op.drop_index('ix_login_failure_username_at', table_name='login_failure')
    op.drop_table('login_failure')
