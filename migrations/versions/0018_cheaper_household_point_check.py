"""household.geom's validity check without GEOS: for a point, ST_IsValid only asks for
finite coordinates, which the range check below guards too (NaN and ±Infinity fail
BETWEEN), along with the longitude/latitude range of EPSG:4326. ST_IsValid built a GEOS
geometry for every inserted row — about a tenth of a bulk COPY's server time.

Revision ID: 0018
Revises: 0014
"""
from alembic import op

revision = '0018'
down_revision = '0014'
branch_labels = None
depends_on = None

GEOS_CHECK = "ST_IsValid(geom) AND NOT ST_IsEmpty(geom)"
POINT_CHECK = "NOT ST_IsEmpty(geom) AND ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90"


def upgrade() -> None:
    op.drop_constraint(op.f('ck_household_geom_valid'), 'household', type_='check')
    op.create_check_constraint(op.f('ck_household_geom_valid'), 'household', POINT_CHECK)


def downgrade() -> None:
    op.drop_constraint(op.f('ck_household_geom_valid'), 'household', type_='check')
    op.create_check_constraint(op.f('ck_household_geom_valid'), 'household', GEOS_CHECK)
