"""Hazards and their closed loop: hazard, hazard_event, the category catalogue with its
deadline rules (seeded with the defaults), and the admin-loaded official holiday list.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27 17:52:47.234404
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hazard_category',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_hazard_category')),
    sa.UniqueConstraint('name', name=op.f('uq_hazard_category_name'))
    )
    op.create_table('official_holiday',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('name', sa.Text(), server_default='', nullable=False),
    sa.Column('source', sa.Text(), server_default='', nullable=False),
    sa.Column('loaded_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_official_holiday'))
    )
    op.create_table('hazard_deadline_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.String(length=32), nullable=True),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('accept_working_days', sa.SmallInteger(), nullable=True),
    sa.Column('accept_hours', sa.SmallInteger(), nullable=True),
    sa.Column('resolve_working_days', sa.SmallInteger(), nullable=True),
    sa.Column('resolve_hours', sa.SmallInteger(), nullable=True),
    sa.CheckConstraint("severity IN ('normal', 'complex', 'urgent')", name=op.f('ck_hazard_deadline_rule_severity_known')),
    sa.CheckConstraint('(accept_working_days IS NULL) <> (accept_hours IS NULL)', name=op.f('ck_hazard_deadline_rule_accept_one_unit')),
    sa.CheckConstraint('(resolve_working_days IS NULL) <> (resolve_hours IS NULL)', name=op.f('ck_hazard_deadline_rule_resolve_one_unit')),
    sa.CheckConstraint('coalesce(accept_working_days, accept_hours) > 0 AND coalesce(resolve_working_days, resolve_hours) > 0', name=op.f('ck_hazard_deadline_rule_positive')),
    sa.ForeignKeyConstraint(['category_code'], ['hazard_category.code'], name=op.f('fk_hazard_deadline_rule_category_code_hazard_category'), onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_deadline_rule')),
    sa.UniqueConstraint('category_code', 'severity', name=op.f('uq_hazard_deadline_rule_category_code_severity'))
    )
    op.create_geospatial_table('hazard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('category_code', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('grid_version', sa.Integer(), nullable=False),
    sa.Column('grid_code', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='reported', nullable=False),
    sa.Column('level', sa.String(length=12), server_default='grid', nullable=False),
    sa.Column('accept_by', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('resolve_by', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('calendar', sa.String(length=8), server_default='official', nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('accepted_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('resolved_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('closed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("calendar IN ('official', 'fallback')", name=op.f('ck_hazard_calendar_known')),
    sa.CheckConstraint("grid_code ~ '^[0-9]{13,24}$'", name=op.f('ck_hazard_grid_code_digits')),
    sa.CheckConstraint("level IN ('grid', 'community', 'street', 'district')", name=op.f('ck_hazard_level_known')),
    sa.CheckConstraint("severity IN ('normal', 'complex', 'urgent')", name=op.f('ck_hazard_severity_known')),
    sa.CheckConstraint("status IN ('reported', 'accepted', 'assigned', 'in_progress', 'feedback', 'verified', 'closed', 'rejected')", name=op.f('ck_hazard_status_known')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_hazard_geom_valid')),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_hazard_assignee_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_code'], ['hazard_category.code'], name=op.f('fk_hazard_category_code_hazard_category'), onupdate='CASCADE', ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_hazard_grid_id_grid'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['app_user.id'], name=op.f('fk_hazard_reporter_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard')),
    sa.UniqueConstraint('code', name=op.f('uq_hazard_code'))
    )
    op.create_index('ix_hazard_assignee_id', 'hazard', ['assignee_id'], unique=False)
    op.create_index('ix_hazard_created_at', 'hazard', ['created_at'], unique=False)
    op.create_geospatial_index('ix_hazard_geom', 'hazard', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_hazard_grid_code_prefix', 'hazard', ['grid_code'], unique=False, postgresql_ops={'grid_code': 'varchar_pattern_ops'})
    op.create_index('ix_hazard_grid_id', 'hazard', ['grid_id'], unique=False)
    op.create_index('ix_hazard_status_resolve_by', 'hazard', ['status', 'resolve_by'], unique=False)
    op.create_table('hazard_event',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_hazard_event_actor_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_event_hazard_id_hazard'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_event'))
    )
    op.create_index('ix_hazard_event_hazard_id_at', 'hazard_event', ['hazard_id', 'at'], unique=False)
    _seed()


CATEGORIES = [
    ("public_order", "治安"), ("fire", "消防"), ("work_safety", "安全生产"), ("sanitation", "环境卫生"),
    ("dispute", "矛盾纠纷"), ("facility", "设施损坏"), ("illegal_building", "乱搭乱建"),
    ("street_vending", "占道经营"), ("noise", "噪声"), ("other", "其他"),
]
# (severity, accept working days, accept hours, resolve working days, resolve hours): the
# Weifang "小红哨" rule (accept 1 working day, resolve 3, complex 5) and Shuifu's urgent 1 hour.
RULES = [
    ("normal", 1, None, 3, None),
    ("complex", 1, None, 5, None),
    ("urgent", None, 1, 1, None),
]


def _seed() -> None:
    category = sa.table("hazard_category", sa.column("code"), sa.column("name"), sa.column("sort_order"))
    op.bulk_insert(category, [{"code": c, "name": n, "sort_order": i} for i, (c, n) in enumerate(CATEGORIES)])
    rule = sa.table("hazard_deadline_rule", sa.column("category_code"), sa.column("severity"),
                    sa.column("accept_working_days"), sa.column("accept_hours"),
                    sa.column("resolve_working_days"), sa.column("resolve_hours"))
    op.bulk_insert(rule, [{"category_code": None, "severity": s, "accept_working_days": a, "accept_hours": ah,
                           "resolve_working_days": r, "resolve_hours": rh} for s, a, ah, r, rh in RULES])


def downgrade() -> None:
    op.drop_index('ix_hazard_event_hazard_id_at', table_name='hazard_event')
    op.drop_table('hazard_event')
    op.drop_index('ix_hazard_status_resolve_by', table_name='hazard')
    op.drop_index('ix_hazard_grid_id', table_name='hazard')
    op.drop_index('ix_hazard_grid_code_prefix', table_name='hazard', postgresql_ops={'grid_code': 'varchar_pattern_ops'})
    op.drop_geospatial_index('ix_hazard_geom', table_name='hazard', postgresql_using='gist', column_name='geom')
    op.drop_index('ix_hazard_created_at', table_name='hazard')
    op.drop_index('ix_hazard_assignee_id', table_name='hazard')
    op.drop_geospatial_table('hazard')
    op.drop_table('hazard_deadline_rule')
    op.drop_table('official_holiday')
    op.drop_table('hazard_category')
