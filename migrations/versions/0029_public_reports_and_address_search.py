"""Residents report (居民吹哨) and address search: ``hazard.source`` (staff or resident), the
``public_report`` a resident's tracking code reads, the rate-limit hits and used proof-of-work
challenges of the public form, and ``pg_trgm`` trigram indexes on household and key-place
addresses.

Revision ID: 0029
Revises: 0031
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0029'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column('hazard', sa.Column('source', sa.String(length=16), server_default='staff', nullable=False))
    op.create_check_constraint(op.f('ck_hazard_source_known'), 'hazard', "source IN ('staff', 'resident')")
    op.create_table(
        'public_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tracking_code', sa.String(length=32), nullable=False),
        sa.Column('hazard_id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_public_report_hazard_id_hazard'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_public_report')),
        sa.UniqueConstraint('tracking_code', name=op.f('uq_public_report_tracking_code')),
        sa.UniqueConstraint('hazard_id', name=op.f('uq_public_report_hazard_id')),
    )
    op.create_table(
        'public_hit',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("kind IN ('address', 'phone')", name=op.f('ck_public_hit_kind_known')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_public_hit')),
    )
    op.create_index('ix_public_hit_kind_key_at', 'public_hit', ['kind', 'key', 'at'])
    op.create_table(
        'public_challenge_used',
        sa.Column('challenge', sa.String(length=64), nullable=False),
        sa.Column('expires_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('challenge', name=op.f('pk_public_challenge_used')),
    )
    op.create_index('ix_public_challenge_used_expires_at', 'public_challenge_used', ['expires_at'])
    op.create_index('ix_household_address_trgm', 'household', ['address'], postgresql_using='gin',
                    postgresql_ops={'address': 'gin_trgm_ops'})
    op.create_index('ix_key_place_address_trgm', 'key_place', ['address'], postgresql_using='gin',
                    postgresql_ops={'address': 'gin_trgm_ops'})


def downgrade() -> None:
    op.drop_index('ix_key_place_address_trgm', table_name='key_place')
    op.drop_index('ix_household_address_trgm', table_name='household')
    op.drop_table('public_challenge_used')
    op.drop_table('public_hit')
    op.drop_table('public_report')
    op.drop_constraint(op.f('ck_hazard_source_known'), 'hazard', type_='check')
    op.drop_column('hazard', 'source')
