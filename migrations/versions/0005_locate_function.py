"""Locate as a PL/pgSQL function: its plan is cached per connection, so the hottest
read (every check-in and report asks which grid a point is in) skips planning.

Revision ID: 0005
Revises: 0001
"""
from alembic import op

revision = '0005'
down_revision = '0001'
branch_labels = None
depends_on = None

# The rule matches household assignment: the covering map grid, smallest code on a border.
LOCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION gridmap_locate(lon float8, lat float8, code_pattern text)
RETURNS TABLE (grid_code text, grid_name text, community_code text, community_name text,
               street_code text, street_name text, district_code text, district_name text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN QUERY
    SELECT g.code::text, g.name, c.code::text, c.name, s.code::text, s.name, d.code::text, d.name
    FROM grid g
    JOIN admin_unit c ON c.id = g.community_id
    LEFT JOIN admin_unit s ON s.id = c.parent_id
    LEFT JOIN admin_unit d ON d.id = s.parent_id
    WHERE g.kind = 'map' AND g.code LIKE code_pattern
      AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(lon, lat), 4326))
    ORDER BY g.code
    LIMIT 1;
END
$$
"""


def upgrade() -> None:
    op.execute(LOCATE_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS gridmap_locate(float8, float8, text)")
