"""Bulk writes of admin units and grids: validated rows in, binary COPY into a staging table,
one upsert. A grid whose boundary changes gets a new version (grid_version). Rows arrive
checked (gridmap.imports.areas); these run inside the caller's transaction, so a grid
import re-assigns the households it touches in the same one.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap import pgcopy

STAGING_DDL = """
CREATE TEMP TABLE area_staging (code text, name text, parent_code text, kind text, geom geometry)
ON COMMIT DROP
"""

UPSERT_UNITS = """
WITH written AS (
    INSERT INTO admin_unit AS a (code, name, level, parent_id, geom)
    SELECT s.code, s.name, :level, p.id, s.geom
    FROM area_staging s LEFT JOIN admin_unit p ON p.code = s.parent_code
    ON CONFLICT (code) DO UPDATE SET
        name = EXCLUDED.name, parent_id = EXCLUDED.parent_id,
        geom = coalesce(EXCLUDED.geom, a.geom), updated_at = now()
    WHERE a.level = EXCLUDED.level
    RETURNING (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM written
"""

UPSERT_GRIDS = """
WITH incoming AS (
    SELECT s.code, s.name, c.id AS community_id, s.kind,
           s.geom AS geom
    FROM area_staging s JOIN admin_unit c ON c.code = s.parent_code AND c.level = 'community'
), written AS (
    INSERT INTO grid AS g (code, name, community_id, kind, geom)
    SELECT code, name, community_id, kind, geom FROM incoming
    ON CONFLICT (code) DO UPDATE SET
        name = EXCLUDED.name, community_id = EXCLUDED.community_id, kind = EXCLUDED.kind,
        geom = EXCLUDED.geom,
        version = g.version + CASE WHEN ST_Equals(g.geom, EXCLUDED.geom)
                                     OR (g.geom IS NULL AND EXCLUDED.geom IS NULL) THEN 0 ELSE 1 END,
        updated_at = now()
    RETURNING g.id, g.version, g.geom, (xmax = 0) AS created
), closed AS (
    UPDATE grid_version v SET valid_to = now()
    FROM written w
    WHERE v.grid_id = w.id AND v.valid_to IS NULL AND v.version < w.version
    RETURNING v.grid_id
), opened AS (
    INSERT INTO grid_version (grid_id, version, geom, reason)
    SELECT w.id, w.version, w.geom, :reason FROM written w
    WHERE NOT EXISTS (SELECT 1 FROM grid_version v WHERE v.grid_id = w.id AND v.version = w.version)
    RETURNING grid_id
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created),
       coalesce(array_agg(id) FILTER (WHERE id IN (SELECT grid_id FROM opened)), '{}')
FROM written
"""


def _stage(session: Session, code: np.ndarray, name: np.ndarray, parent_code: np.ndarray, kind: np.ndarray,
           geom: np.ndarray) -> None:
    pgcopy.temp_table(session, "area_staging", STAGING_DDL)
    pgcopy.copy(session, "area_staging", {
        "code": pgcopy.text(code), "name": pgcopy.text(name), "parent_code": pgcopy.text(parent_code, empty_is_null=True),
        "kind": pgcopy.text(kind), "geom": pgcopy.geometry(geom, 4326),
    })


def write_units(session: Session, level: str, code: np.ndarray, name: np.ndarray, parent_code: np.ndarray,
                kind: np.ndarray, geom: np.ndarray) -> tuple[int, int]:
    """Upsert admin units of ``level`` (parent_code "" for none, geom None to keep the stored one);
    (created, updated)."""
    _stage(session, code, name, parent_code, kind, geom)
    created, updated = session.execute(text(UPSERT_UNITS), {"level": level}).one()
    return int(created), int(updated)


def write_grids(session: Session, code: np.ndarray, name: np.ndarray, parent_code: np.ndarray, kind: np.ndarray,
                geom: np.ndarray, *, reason: str) -> tuple[int, int, list[int]]:
    """Upsert grids under their communities, versioning changed boundaries with ``reason``;
    (created, updated, ids of the grids with a new version)."""
    _stage(session, code, name, parent_code, kind, geom)
    created, updated, changed = session.execute(text(UPSERT_GRIDS), {"reason": reason}).one()
    return int(created), int(updated), list(changed)
