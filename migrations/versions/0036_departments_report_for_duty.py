"""Departments report for duty (吹哨报到): ``department`` (code, name, the hazard categories it
owns; seeded with 城管, 交警, 市场监管, 消防, 派出所, 住建), ``department_route`` (category × area
prefix → department, the longest prefix wins; seeded city-wide for every category but 其他),
``hazard_assignment`` (a hazard whistled to a department: its 报到 deadline, 报到, feedback and
the overdue sweep's mark), the ``department`` role (``app_user.department_id``, a district or
street scope) and the hazard status ``whistled``.

Revision ID: 0036
Revises: 0037
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0036'
down_revision = '0037'
branch_labels = None
depends_on = None

ROLES_OLD = "role IN ('admin', 'supervisor', 'planner', 'grid_worker', 'party_member')"
ROLES_NEW = "role IN ('admin', 'supervisor', 'planner', 'grid_worker', 'party_member', 'department')"
STATUS_OLD = ("status IN ('reported', 'accepted', 'assigned', 'in_progress', 'feedback', 'verified', 'closed', "
              "'rejected')")
STATUS_NEW = ("status IN ('reported', 'accepted', 'assigned', 'in_progress', 'whistled', 'feedback', 'verified', "
              "'closed', 'rejected')")

# (code, name, categories owned): the hazard catalogue's codes (0004).
DEPARTMENTS = [
    ("chengguan", "城管", ["street_vending", "illegal_building", "sanitation", "noise"]),
    ("jiaojing", "交警", ["street_vending", "facility"]),
    ("shichang", "市场监管", ["street_vending", "work_safety"]),
    ("xiaofang", "消防", ["fire", "work_safety"]),
    ("paichusuo", "派出所", ["public_order", "dispute", "noise"]),
    ("zhujian", "住建", ["illegal_building", "facility", "work_safety"]),
]
# City-wide rules (area ''): category → departments. An administrator refines them per area.
ROUTES = [
    ("fire", ["xiaofang"]), ("public_order", ["paichusuo"]), ("dispute", ["paichusuo"]), ("noise", ["paichusuo"]),
    ("street_vending", ["chengguan"]), ("illegal_building", ["chengguan", "zhujian"]),
    ("sanitation", ["chengguan"]), ("facility", ["zhujian"]), ("work_safety", ["shichang"]),
]


def upgrade() -> None:
    op.create_table(
        'department',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('categories', postgresql.ARRAY(sa.String(length=32)), server_default='{}', nullable=False),
        sa.Column('sort_order', sa.SmallInteger(), server_default='0', nullable=False),
        sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
        sa.CheckConstraint("code ~ '^[a-z][a-z0-9_]{0,31}$'", name=op.f('ck_department_code_format')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
        sa.UniqueConstraint('code', name=op.f('uq_department_code')),
        sa.UniqueConstraint('name', name=op.f('uq_department_name')),
    )
    op.create_table(
        'department_route',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('category_code', sa.String(length=32), nullable=False),
        sa.Column('area_prefix', sa.String(length=15), server_default='', nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.Text(), server_default='', nullable=False),
        sa.Column('report_working_days', sa.SmallInteger(), nullable=True),
        sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("area_prefix ~ '^([0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})?$'",
                           name=op.f('ck_department_route_area_prefix_digits')),
        sa.CheckConstraint('report_working_days IS NULL OR report_working_days BETWEEN 0 AND 30',
                           name=op.f('ck_department_route_report_days_range')),
        sa.ForeignKeyConstraint(['category_code'], ['hazard_category.code'],
                                name=op.f('fk_department_route_category_code_hazard_category'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_department_route_department_id_department'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_department_route')),
        sa.UniqueConstraint('category_code', 'area_prefix', 'department_id',
                            name=op.f('uq_department_route_category_code_area_prefix_department_id')),
    )
    op.create_table(
        'hazard_assignment',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('hazard_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('whistled_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column('whistled_by', sa.Integer(), nullable=True),
        sa.Column('report_by', postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column('calendar', sa.String(length=8), server_default='official', nullable=False),
        sa.Column('reported_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column('reported_by', sa.Integer(), nullable=True),
        sa.Column('fed_back_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column('fed_back_by', sa.Integer(), nullable=True),
        sa.Column('feedback', sa.Text(), server_default='', nullable=False),
        sa.Column('escalated_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint("calendar IN ('official', 'fallback')", name=op.f('ck_hazard_assignment_calendar_known')),
        sa.CheckConstraint('fed_back_at IS NULL OR reported_at IS NOT NULL',
                           name=op.f('ck_hazard_assignment_report_before_feedback')),
        sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_assignment_hazard_id_hazard'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_hazard_assignment_department_id_department'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['whistled_by'], ['app_user.id'], name=op.f('fk_hazard_assignment_whistled_by_app_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['reported_by'], ['app_user.id'], name=op.f('fk_hazard_assignment_reported_by_app_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['fed_back_by'], ['app_user.id'], name=op.f('fk_hazard_assignment_fed_back_by_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_assignment')),
    )
    op.create_index('ix_hazard_assignment_hazard_id', 'hazard_assignment', ['hazard_id'])
    op.create_index('ux_hazard_assignment_open', 'hazard_assignment', ['hazard_id', 'department_id'], unique=True,
                    postgresql_where=sa.text('fed_back_at IS NULL'))
    op.create_index('ix_hazard_assignment_department_open', 'hazard_assignment', ['department_id', 'report_by'],
                    postgresql_where=sa.text('fed_back_at IS NULL'))
    op.add_column('app_user', sa.Column('department_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_app_user_department_id_department'), 'app_user', 'department',
                          ['department_id'], ['id'], ondelete='RESTRICT')
    op.drop_constraint(op.f('ck_app_user_role_known'), 'app_user', type_='check')
    op.create_check_constraint(op.f('ck_app_user_role_known'), 'app_user', ROLES_NEW)
    op.create_check_constraint(op.f('ck_app_user_department_linked'), 'app_user',
                               "(role = 'department') = (department_id IS NOT NULL)")
    op.create_check_constraint(op.f('ck_app_user_department_scope_area'), 'app_user',
                               "role <> 'department' OR length(scope_code) IN (6, 9)")
    op.drop_constraint(op.f('ck_hazard_status_known'), 'hazard', type_='check')
    op.create_check_constraint(op.f('ck_hazard_status_known'), 'hazard', STATUS_NEW)
    _seed()


def _seed() -> None:
    department = sa.table('department', sa.column('id', sa.Integer), sa.column('code', sa.String),
                          sa.column('name', sa.Text), sa.column('categories', postgresql.ARRAY(sa.String)),
                          sa.column('sort_order', sa.SmallInteger))
    op.bulk_insert(department, [{"code": c, "name": n, "categories": cats, "sort_order": i}
                                for i, (c, n, cats) in enumerate(DEPARTMENTS)])
    bind = op.get_bind()
    known = {row[0] for row in bind.execute(sa.text("SELECT code FROM hazard_category"))}
    for category, codes in ROUTES:
        if category not in known:
            continue
        for code in codes:
            bind.execute(sa.text(
                "INSERT INTO department_route (category_code, area_prefix, department_id, name) "
                "SELECT :category, '', id, '' FROM department WHERE code = :code"), {"category": category, "code": code})


def downgrade() -> None:
    op.execute("UPDATE hazard SET status = 'in_progress' WHERE status = 'whistled'")
    op.drop_constraint(op.f('ck_hazard_status_known'), 'hazard', type_='check')
    op.create_check_constraint(op.f('ck_hazard_status_known'), 'hazard', STATUS_OLD)
    op.execute("DELETE FROM app_user WHERE role = 'department'")
    op.drop_constraint(op.f('ck_app_user_department_scope_area'), 'app_user', type_='check')
    op.drop_constraint(op.f('ck_app_user_department_linked'), 'app_user', type_='check')
    op.drop_constraint(op.f('ck_app_user_role_known'), 'app_user', type_='check')
    op.create_check_constraint(op.f('ck_app_user_role_known'), 'app_user', ROLES_OLD)
    op.drop_constraint(op.f('fk_app_user_department_id_department'), 'app_user', type_='foreignkey')
    op.drop_column('app_user', 'department_id')
    op.drop_index('ix_hazard_assignment_department_open', table_name='hazard_assignment')
    op.drop_index('ux_hazard_assignment_open', table_name='hazard_assignment')
    op.drop_index('ix_hazard_assignment_hazard_id', table_name='hazard_assignment')
    op.drop_table('hazard_assignment')
    op.drop_table('department_route')
    op.drop_table('department')
