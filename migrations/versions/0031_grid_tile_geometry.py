"""Grid outlines ready for vector tiles: stored generated columns holding each grid's outline in
Web Mercator (EPSG:3857), simplified for the tiles of zooms up to 11 (``tile_geom_lo``, within
half a tile unit of z11: 2.39 m) and 12-13 (``tile_geom_mid``, 0.60 m). A tile at those zooms
reads them instead of transforming and simplifying every outline on each request, which was
most of a city-wide tile's time (scripts/bench/citymap). PostgreSQL recomputes them whenever
``geom`` changes, so they can never disagree with it.

Revision ID: 0031
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = '0031'
down_revision = '0027'
branch_labels = None
depends_on = None

LO = "ST_SimplifyPreserveTopology(ST_Transform(geom, 3857), 2.39)"
MID = "ST_SimplifyPreserveTopology(ST_Transform(geom, 3857), 0.6)"


def upgrade() -> None:
    op.add_column('grid', sa.Column('tile_geom_lo', Geometry(srid=3857, spatial_index=False),
                                    sa.Computed(LO, persisted=True), nullable=True))
    op.add_column('grid', sa.Column('tile_geom_mid', Geometry(srid=3857, spatial_index=False),
                                    sa.Computed(MID, persisted=True), nullable=True))


def downgrade() -> None:
    op.drop_column('grid', 'tile_geom_mid')
    op.drop_column('grid', 'tile_geom_lo')
