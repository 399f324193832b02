"""The heatmap's daily cells as a hazard is written: the hazard table's spatial SQL that counts a
new report into ``hazard_daily_cell`` (per Beijing day, grid, category and fine cell of FINE_CELL
degrees, ~50 m), inside the reporting transaction. gridmap.hazard_stats reads the cells, and
rebuilds them with the same key (CELL_KEY)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.clock import CHINA_SQL

FINE_CELL = 0.0005

# A hazard's cell: its Beijing day, grid, category and fine cell indexes (round(lon, lat / FINE_CELL)).
CELL_KEY = f"""(created_at AT TIME ZONE '{CHINA_SQL}')::date, grid_code, category_code,
               round(ST_X(geom) / {FINE_CELL})::int, round(ST_Y(geom) / {FINE_CELL})::int"""

RECORD_SQL = text(f"""
INSERT INTO hazard_daily_cell AS d (day, grid_code, category_code, ix, iy, n)
SELECT {CELL_KEY}, 1 FROM hazard WHERE id = :id
ON CONFLICT (day, grid_code, category_code, ix, iy) DO UPDATE SET n = d.n + 1
""")


def record_hazard(session: Session, hazard_id: int) -> None:
    """On write: count one new hazard into its day's cell (inside the reporting transaction)."""
    session.execute(RECORD_SQL, {"id": hazard_id})
