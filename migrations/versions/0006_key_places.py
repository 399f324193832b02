"""Key places of a grid (重点场所) for the 民情地图 and the contact handbook.

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-01 09:00:00
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0002'
branch_labels = None
depends_on = None

KINDS = ('party_centre', 'rental_cluster', 'school', 'kindergarten', 'medical', 'elderly_care', 'market',
         'gas_station', 'hydrant', 'other')


def upgrade() -> None:
    op.create_table(
        'key_place',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, spatial_index=False,
                                                     from_text='ST_GeomFromEWKT', name='geometry'), nullable=False),
        sa.Column('address', sa.Text(), server_default='', nullable=False),
        sa.Column('note', sa.Text(), server_default='', nullable=False),
        sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in KINDS) + ")", name=op.f('ck_key_place_kind_known')),
        sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_key_place_geom_valid')),
        sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_key_place_grid_id_grid'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_key_place')),
        sa.UniqueConstraint('grid_id', 'kind', 'name', name=op.f('uq_key_place_grid_id_kind_name')),
    )
    op.create_index('ix_key_place_geom', 'key_place', ['geom'], unique=False, postgresql_using='gist')


def downgrade() -> None:
    op.drop_index('ix_key_place_geom', table_name='key_place', postgresql_using='gist')
    op.drop_table('key_place')
