"""Drop checkin_key's foreign key to app_user: the key row is written by the same statement,
with the same user_id, as its check-in row, whose own foreign key already guards it, and the
second check cost about 2.7 µs per synced check-in.

Revision ID: 0020
Revises: 0019
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("fk_checkin_key_user_id_app_user", "checkin_key", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key("fk_checkin_key_user_id_app_user", "checkin_key", "app_user", ["user_id"], ["id"],
                          ondelete="RESTRICT")
