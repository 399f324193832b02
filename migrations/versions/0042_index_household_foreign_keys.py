"""Index the foreign keys that point at a household: ``household.merged_into_id`` (ON DELETE SET
NULL) and ``household_client_write.household_id`` (ON DELETE CASCADE). Without them every deleted
household scanned both tables once, so deleting a community's households (the demo's reset, a
district's clean-up) took time quadratic in their number.

Revision ID: 0042
Revises: 0041
"""
import sqlalchemy as sa
from alembic import op

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_household_merged_into_id", "household", ["merged_into_id"],
                    postgresql_where=sa.text("merged_into_id IS NOT NULL"))
    op.create_index("ix_household_client_write_household_id", "household_client_write", ["household_id"])


def downgrade() -> None:
    op.drop_index("ix_household_client_write_household_id", table_name="household_client_write")
    op.drop_index("ix_household_merged_into_id", table_name="household")
