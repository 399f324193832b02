"""Merge the feature branches (patrol, party and key places, planning, auth throttling,
hazards) into one head, so the next migration has a single parent.

Revision ID: 0013
Revises: 0003, 0006, 0008, 0009, 0012
"""

revision = '0013'
down_revision = ('0003', '0006', '0008', '0009', '0012')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
