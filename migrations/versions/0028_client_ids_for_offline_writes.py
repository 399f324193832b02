"""Client ids for the phone's offline outbox: a hazard report, a hazard photo and a household
write each carry the UUID the phone gave them, so a re-sent request (the answer was lost when
the signal dropped) is recognised and answered with what was stored, instead of storing it
twice. ``client_digest`` is the SHA-256 of the request the id was first used for: the same id
with another request is refused. Household writes keep theirs in ``household_client_write``
(an edit that changed nothing records no ``household_change`` row, but its id is still used).

Revision ID: 0028
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0028'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('hazard', sa.Column('client_id', postgresql.UUID(as_uuid=False), nullable=True))
    op.add_column('hazard', sa.Column('client_digest', sa.String(length=64), nullable=True))
    op.create_index('ux_hazard_client_id', 'hazard', ['client_id'], unique=True)
    op.add_column('hazard_photo', sa.Column('client_id', postgresql.UUID(as_uuid=False), nullable=True))
    op.create_index('ux_hazard_photo_client_id', 'hazard_photo', ['hazard_id', 'client_id'], unique=True)
    op.create_table(
        'household_client_write',
        sa.Column('client_id', postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('status', sa.SmallInteger(), nullable=False),
        sa.Column('pending', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("kind IN ('create', 'edit')", name=op.f('ck_household_client_write_kind_known')),
        sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_household_client_write_author_id_app_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                                name=op.f('fk_household_client_write_household_id_household'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_household_client_write')),
    )


def downgrade() -> None:
    op.drop_table('household_client_write')
    op.drop_index('ux_hazard_photo_client_id', table_name='hazard_photo')
    op.drop_column('hazard_photo', 'client_id')
    op.drop_index('ux_hazard_client_id', table_name='hazard')
    op.drop_column('hazard', 'client_digest')
    op.drop_column('hazard', 'client_id')
