"""回访 and satisfaction: a resident's item waits for the reporter's answer before it closes when
they left a phone (``hazard.revisit_required``), the community's reply the status page shows
(``hazard.public_reply``), and ``hazard_revisit``: each answer (满意 / 基本满意 / 不满意), its
channel (a staff phone call or the resident's status page) and the verification it answers.

Revision ID: 0040
Revises: 0029
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0040'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('hazard', sa.Column('revisit_required', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('hazard', sa.Column('public_reply', sa.Text(), nullable=True))
    op.create_table(
        'hazard_revisit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hazard_id', sa.Integer(), nullable=False),
        sa.Column('verified_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column('answer', sa.String(length=24), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("answer IN ('satisfied', 'basically_satisfied', 'dissatisfied')",
                           name=op.f('ck_hazard_revisit_answer_known')),
        sa.CheckConstraint("channel IN ('phone', 'status_page')", name=op.f('ck_hazard_revisit_channel_known')),
        sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_revisit_hazard_id_hazard'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_hazard_revisit_actor_id_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_revisit')),
        sa.UniqueConstraint('hazard_id', 'verified_at', name=op.f('uq_hazard_revisit_hazard_id_verified_at')),
    )
    op.create_index('ix_hazard_revisit_at', 'hazard_revisit', ['at'])


def downgrade() -> None:
    op.drop_index('ix_hazard_revisit_at', table_name='hazard_revisit')
    op.drop_table('hazard_revisit')
    op.drop_column('hazard', 'public_reply')
    op.drop_column('hazard', 'revisit_required')
