"""Bulk writes of party members: validated rows in, binary COPY into a staging table, one upsert.

A row whose name and phone match an existing party member updates it; any other row
creates one. Rows arrive checked and placed (gridmap.imports.party).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from gridmap import pgcopy
from gridmap.db import transaction

STAGING_DDL = """
CREATE TEMP TABLE party_member_staging (
    name text, phone text, branch text, geom geometry(Point, 4326), grid_id int, household_id int
) ON COMMIT DROP
"""

UPSERT_SQL = """
WITH src AS (
    SELECT row_number() OVER () AS n, name, nullif(phone, '') AS phone, nullif(branch, '') AS branch,
           geom, grid_id, household_id
    FROM party_member_staging
), updated AS (
    UPDATE party_member pm SET branch = src.branch, geom = src.geom, grid_id = src.grid_id,
           household_id = src.household_id
    FROM src
    WHERE src.phone IS NOT NULL AND pm.name = src.name AND pm.phone = src.phone
    RETURNING src.n
), created AS (
    INSERT INTO party_member (name, phone, branch, geom, grid_id, household_id)
    SELECT name, phone, branch, geom, grid_id, household_id FROM src
    WHERE n NOT IN (SELECT n FROM updated)
    RETURNING id
)
SELECT (SELECT count(*) FROM created), (SELECT count(DISTINCT n) FROM updated)
"""


def write_party_members(session: Session, name: np.ndarray, phone: np.ndarray, branch: np.ndarray,
                        lon: np.ndarray, lat: np.ndarray, grid_id: np.ndarray,
                        household_id: np.ndarray) -> tuple[int, int]:
    """Upsert the rows (strings, "" for none; WGS-84 points; ids, -1 for none); one transaction.
    Returns (created, updated)."""
    columns = {
        "name": pgcopy.text(name, empty_is_null=True), "phone": pgcopy.text(phone, empty_is_null=True),
        "branch": pgcopy.text(branch, empty_is_null=True), "geom": pgcopy.point(lon, lat, 4326),
        "grid_id": pgcopy.int4(np.maximum(grid_id, 0), null=grid_id < 0),
        "household_id": pgcopy.int4(np.maximum(household_id, 0), null=household_id < 0),
    }
    with transaction(session):
        created, updated = pgcopy.staged(session, "party_member_staging", STAGING_DDL, columns, UPSERT_SQL)
    return int(created), int(updated)
