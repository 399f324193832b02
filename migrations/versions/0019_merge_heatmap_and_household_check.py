"""Merge the heatmap pyramid (0016) and the cheaper household point check (0018) into one
head, so the next migration has a single parent.

Revision ID: 0019
Revises: 0016, 0018
"""

revision = '0019'
down_revision = ('0016', '0018')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
