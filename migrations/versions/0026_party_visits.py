"""Party members' monthly visits (走访): ``party_visit`` holds each visit to a contact household —
when it took place by the phone's clock and when the server received it, a note, the phone's
position (WGS-84) — under the phone's UUID (``client_id``, unique), so a re-sent visit is stored once.

Revision ID: 0026
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0026'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'party_visit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.UUID(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('party_member_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('visited_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column('received_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False,
                                   from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
        sa.Column('accuracy_m', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_party_visit_household_id_household'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['party_member_id'], ['party_member.id'],
                                name=op.f('fk_party_visit_party_member_id_party_member'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_party_visit_user_id_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_party_visit')),
        sa.UniqueConstraint('client_id', name=op.f('uq_party_visit_client_id')),
    )
    op.create_index('ix_party_visit_household_id_visited_at', 'party_visit', ['household_id', 'visited_at'])
    op.create_index('ix_party_visit_party_member_id_visited_at', 'party_visit', ['party_member_id', 'visited_at'])
    op.create_index('ix_party_visit_visited_at', 'party_visit', ['visited_at'])


def downgrade() -> None:
    op.drop_index('ix_party_visit_visited_at', table_name='party_visit')
    op.drop_index('ix_party_visit_party_member_id_visited_at', table_name='party_visit')
    op.drop_index('ix_party_visit_household_id_visited_at', table_name='party_visit')
    op.drop_table('party_visit')
