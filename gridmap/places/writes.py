"""Bulk writes of key places: validated rows in, binary COPY into a staging table, one upsert.

A place with the same grid, kind and name is updated (its point, and its address and note only
when the file has those columns: a file without 备注 leaves the notes as they are); any other is
created. Rows arrive checked, placed in their grids and inside the caller's scope
(gridmap.imports.places).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from gridmap import pgcopy
from gridmap.db import transaction

STAGING_DDL = """
CREATE TEMP TABLE key_place_staging (
    grid_id int, name text, kind text, geom geometry(Point, 4326), address text, note text
) ON COMMIT DROP
"""

OPTIONAL = ("address", "note")


def _upsert_sql(given: tuple[str, ...]) -> str:
    """The upsert from the staging table, updating the point and the optional columns ``given``
    (names from OPTIONAL)."""
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in ("geom", *given))
    return f"""
WITH upserted AS (
    INSERT INTO key_place (grid_id, name, kind, geom, address, note)
    SELECT grid_id, name, kind, geom, address, note FROM key_place_staging
    ON CONFLICT (grid_id, kind, name) DO UPDATE SET {updates}, updated_at = now()
    RETURNING (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM upserted
"""


def write_key_places(session: Session, grid_id: np.ndarray, name: np.ndarray, kind: np.ndarray,
                     lon: np.ndarray, lat: np.ndarray, address: np.ndarray, note: np.ndarray,
                     given: tuple[str, ...]) -> tuple[int, int]:
    """Upsert the rows (address and note "" when none); one transaction. Returns (created, updated).
    ``given``: the optional columns (of OPTIONAL) the rows carry, the only ones an update changes."""
    columns = {
        "grid_id": pgcopy.int4(grid_id), "name": pgcopy.text(name), "kind": pgcopy.text(kind),
        "geom": pgcopy.point(lon, lat, 4326), "address": pgcopy.text(address), "note": pgcopy.text(note),
    }
    with transaction(session):
        created, updated = pgcopy.staged(session, "key_place_staging", STAGING_DDL, columns, _upsert_sql(given))
    return int(created), int(updated)
