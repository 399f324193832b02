"""Planning: a grid merged into another is retired (kept, with its versions), not deleted.

Revision ID: 0008
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('grid', sa.Column('retired_at', postgresql.TIMESTAMP(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('grid', 'retired_at')
