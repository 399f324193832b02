"""Create the registry schema: admin units, grids and their versions, households,
party members and contacts, users, API tokens and the audit log.

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 17:25:09.583010
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute('CREATE EXTENSION IF NOT EXISTS postgis')
    op.create_geospatial_table('admin_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(level = 'district' AND code ~ '^[0-9]{6}$') OR (level = 'street' AND code ~ '^[0-9]{9}$') OR (level = 'community' AND code ~ '^[0-9]{12}$')", name=op.f('ck_admin_unit_code_matches_level')),
    sa.CheckConstraint('geom IS NULL OR ST_IsValid(geom)', name=op.f('ck_admin_unit_geom_valid')),
    sa.ForeignKeyConstraint(['parent_id'], ['admin_unit.id'], name=op.f('fk_admin_unit_parent_id_admin_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_unit')),
    sa.UniqueConstraint('code', name=op.f('uq_admin_unit_code'))
    )
    op.create_index('ix_admin_unit_code_prefix', 'admin_unit', ['code'], unique=False, postgresql_ops={'code': 'varchar_pattern_ops'})
    op.create_geospatial_index('ix_admin_unit_geom', 'admin_unit', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_admin_unit_parent_id', 'admin_unit', ['parent_id'], unique=False)
    op.create_geospatial_table('grid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), server_default='map', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('target_min', sa.SmallInteger(), server_default='300', nullable=False),
    sa.Column('target_max', sa.SmallInteger(), server_default='500', nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{13,24}$'", name=op.f('ck_grid_code_digits')),
    sa.CheckConstraint("kind = 'out_of_area' OR geom IS NOT NULL", name=op.f('ck_grid_map_grid_has_geom')),
    sa.CheckConstraint("kind IN ('map', 'out_of_area')", name=op.f('ck_grid_kind_known')),
    sa.CheckConstraint('geom IS NULL OR ST_IsValid(geom)', name=op.f('ck_grid_geom_valid')),
    sa.CheckConstraint('target_min > 0 AND target_min <= target_max', name=op.f('ck_grid_target_range')),
    sa.ForeignKeyConstraint(['community_id'], ['admin_unit.id'], name=op.f('fk_grid_community_id_admin_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid')),
    sa.UniqueConstraint('code', name=op.f('uq_grid_code'))
    )
    op.create_index('ix_grid_code_prefix', 'grid', ['code'], unique=False, postgresql_ops={'code': 'varchar_pattern_ops'})
    op.create_index('ix_grid_community_id', 'grid', ['community_id'], unique=False)
    op.create_geospatial_index('ix_grid_geom', 'grid', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('address', sa.Text(), server_default='', nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('size', sa.SmallInteger(), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('risk_level', sa.String(length=8), nullable=True),
    sa.Column('head_name', sa.Text(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("risk_level IS NULL OR risk_level IN ('high', 'medium', 'low')", name=op.f('ck_household_risk_known')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_household_geom_valid')),
    sa.CheckConstraint('size IS NULL OR size BETWEEN 1 AND 99', name=op.f('ck_household_size_range')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_household_grid_id_grid'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('code', name=op.f('uq_household_code'))
    )
    op.create_geospatial_index('ix_household_geom', 'household', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_household_grid_id', 'household', ['grid_id'], unique=False)
    op.create_index('ix_household_tags', 'household', ['tags'], unique=False, postgresql_using='gin')
    op.create_geospatial_table('party_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('branch', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_party_member_grid_id_grid'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_party_member_household_id_household'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_party_member'))
    )
    op.create_geospatial_index('ix_party_member_geom', 'party_member', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_party_member_grid_id', 'party_member', ['grid_id'], unique=False)
    op.create_index('ix_party_member_household_id', 'party_member', ['household_id'], unique=False)
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('scope_code', sa.String(length=24), server_default='', nullable=False),
    sa.Column('display_name', sa.Text(), server_default='', nullable=False),
    sa.Column('party_member_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role <> 'party_member' OR party_member_id IS NOT NULL", name=op.f('ck_app_user_party_member_linked')),
    sa.CheckConstraint("role IN ('admin', 'supervisor', 'planner', 'grid_worker', 'party_member')", name=op.f('ck_app_user_role_known')),
    sa.CheckConstraint("scope_code ~ '^[0-9]*$'", name=op.f('ck_app_user_scope_digits')),
    sa.ForeignKeyConstraint(['party_member_id'], ['party_member.id'], name=op.f('fk_app_user_party_member_id_party_member'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('party_contact',
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('party_member_id', sa.Integer(), nullable=False),
    sa.Column('pinned', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('needs_review', sa.Boolean(), server_default='false', nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_party_contact_household_id_household'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['party_member_id'], ['party_member.id'], name=op.f('fk_party_contact_party_member_id_party_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('household_id', name=op.f('pk_party_contact'))
    )
    op.create_index('ix_party_contact_party_member_id', 'party_contact', ['party_member_id'], unique=False)
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('revoked_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_api_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_token_token_sha256'))
    )
    op.create_index('ix_api_token_user_id', 'api_token', ['user_id'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.Text(), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_audit_log_actor_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_actor_id', 'audit_log', ['actor_id'], unique=False)
    op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)
    op.create_geospatial_table('grid_version',
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('valid_from', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('valid_to', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name=op.f('ck_grid_version_valid_period')),
    sa.ForeignKeyConstraint(['changed_by'], ['app_user.id'], name=op.f('fk_grid_version_changed_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_grid_version_grid_id_grid'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grid_id', 'version', name=op.f('pk_grid_version'))
    )
    op.create_geospatial_index('ix_grid_version_geom', 'grid_version', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})


def downgrade() -> None:
    op.drop_geospatial_index('ix_grid_version_geom', table_name='grid_version', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grid_version')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_index('ix_audit_log_actor_id', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index('ix_api_token_user_id', table_name='api_token')
    op.drop_table('api_token')
    op.drop_index('ix_party_contact_party_member_id', table_name='party_contact')
    op.drop_table('party_contact')
    op.drop_table('app_user')
    op.drop_index('ix_party_member_household_id', table_name='party_member')
    op.drop_index('ix_party_member_grid_id', table_name='party_member')
    op.drop_geospatial_index('ix_party_member_geom', table_name='party_member', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('party_member')
    op.drop_index('ix_household_tags', table_name='household', postgresql_using='gin')
    op.drop_index('ix_household_grid_id', table_name='household')
    op.drop_geospatial_index('ix_household_geom', table_name='household', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('household')
    op.drop_geospatial_index('ix_grid_geom', table_name='grid', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_grid_community_id', table_name='grid')
    op.drop_index('ix_grid_code_prefix', table_name='grid', postgresql_ops={'code': 'varchar_pattern_ops'})
    op.drop_geospatial_table('grid')
    op.drop_index('ix_admin_unit_parent_id', table_name='admin_unit')
    op.drop_geospatial_index('ix_admin_unit_geom', table_name='admin_unit', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_admin_unit_code_prefix', table_name='admin_unit', postgresql_ops={'code': 'varchar_pattern_ops'})
    op.drop_geospatial_table('admin_unit')
