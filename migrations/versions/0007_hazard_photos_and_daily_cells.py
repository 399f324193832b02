"""Hazard photos (bytea, EXIF stripped, SHA-256) and the heatmap's daily pre-aggregation.

Revision ID: 0007
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'hazard_photo',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hazard_id', sa.Integer(), nullable=False),
        sa.Column('n', sa.SmallInteger(), nullable=False),
        sa.Column('content_type', sa.String(length=16), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('original_sha256', sa.String(length=64), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('uploaded_by', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.CheckConstraint("content_type IN ('image/jpeg', 'image/png')",
                           name=op.f('ck_hazard_photo_content_type_known')),
        sa.CheckConstraint("n > 0 AND size = octet_length(data) AND sha256 ~ '^[0-9a-f]{64}$'",
                           name=op.f('ck_hazard_photo_consistent')),
        sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_photo_hazard_id_hazard'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by'], ['app_user.id'], name=op.f('fk_hazard_photo_uploaded_by_app_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_photo')),
        sa.UniqueConstraint('hazard_id', 'n', name=op.f('uq_hazard_photo_hazard_id_n')),
        sa.UniqueConstraint('hazard_id', 'original_sha256', name=op.f('uq_hazard_photo_hazard_id_original_sha256')),
    )
    # Photos are already compressed: keep them out of line without trying to compress again.
    op.execute("ALTER TABLE hazard_photo ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        'hazard_daily_cell',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('grid_code', sa.String(length=24), nullable=False),
        sa.Column('category_code', sa.String(length=32), nullable=False),
        sa.Column('ix', sa.Integer(), nullable=False),
        sa.Column('iy', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'grid_code', 'category_code', 'ix', 'iy', name=op.f('pk_hazard_daily_cell')),
    )
    # Backfill from hazards already reported (FINE_CELL = 0.0005 degrees, Beijing days).
    op.execute("""
        INSERT INTO hazard_daily_cell (day, grid_code, category_code, ix, iy, n)
        SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date, grid_code, category_code,
               round(ST_X(geom) / 0.0005)::int, round(ST_Y(geom) / 0.0005)::int, count(*)
          FROM hazard GROUP BY 1, 2, 3, 4, 5
    """)


def downgrade() -> None:
    op.drop_table('hazard_daily_cell')
    op.drop_table('hazard_photo')
