"""Bulk writes of the household table: validated rows in, binary COPY, assignment on the way.

Rows arrive checked (gridmap.imports.households reads and validates the file). Each COPY
chunk's grids are found by the in-memory twin of the assignment rule
(gridmap.households.assignment.assign_points) while it is encoded, so the STRtree work of
one chunk runs while the server ingests the previous one. New codes are copied straight
into household (no staging table, no ON CONFLICT: the fast path for new data); codes that
already exist go through a staging table and one UPDATE (a new version of each, so a phone
holding the old one gets a 409; a household moved out or merged stays without a grid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap import pgcopy
from gridmap.db import transaction
from gridmap.households.assignment import assign_points, load_grid_polygons
from gridmap.pgcopy import Progress

BULK_REBUILD_MIN_ROWS = 50_000

COLUMNS = ("code", "address", "geom", "grid_id", "size", "tags", "risk_level", "head_name", "phone")

# Codes of this import that already exist: they are updated, every other row is copied
# straight into household.
EXISTING_CODES_DDL = "CREATE TEMP TABLE import_code (code text) ON COMMIT DROP"
EXISTING_CODES_SQL = "SELECT i.code FROM import_code i JOIN household h ON h.code = i.code"
STAGING_DDL = "CREATE TEMP TABLE household_staging (LIKE household INCLUDING DEFAULTS) ON COMMIT DROP"
UPDATE_SQL = """
UPDATE household h SET
    address = s.address, geom = s.geom, grid_id = CASE WHEN h.status = 'active' THEN s.grid_id END,
    size = s.size, tags = s.tags, risk_level = s.risk_level, head_name = s.head_name, phone = s.phone,
    updated_at = now(), version = h.version + 1
FROM household_staging s WHERE h.code = s.code
"""


@dataclass
class _Rows:
    """Good rows in household's binary forms (COLUMNS order, grid_id aside). Each COPY
    chunk's grid ids are found when the chunk is encoded."""

    columns: dict[str, pgcopy.Column]
    lon: np.ndarray
    lat: np.ndarray
    grids: tuple[np.ndarray, np.ndarray]  # ids and polygons, by code
    assigned: np.ndarray = field(init=False)  # grid id per row once its chunk is encoded, -1 outside

    def __post_init__(self) -> None:
        self.assigned = np.full(len(self.lon), -1, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.lon)

    def subset(self, mask: np.ndarray) -> _Rows:
        return _Rows({name: pgcopy.rows(c, mask) for name, c in self.columns.items()}, self.lon[mask],
                     self.lat[mask], self.grids)

    def encode(self, start: int, stop: int) -> memoryview:
        assigned = assign_points(self.lon[start:stop], self.lat[start:stop], *self.grids)
        self.assigned[start:stop] = assigned
        grid = pgcopy.int4(np.maximum(assigned, 0), null=assigned < 0)
        return pgcopy.encode([grid if name == "grid_id" else pgcopy.rows(self.columns[name], slice(start, stop))
                              for name in COLUMNS])

    def copy_into(self, session: Session, table: str, progress: Progress, stage: str) -> None:
        progress(stage, 0, len(self))
        pgcopy.copy_chunks(session, table, COLUMNS, len(self), self.encode, progress, stage)


def _existing_codes(session: Session, code_values: np.ndarray, progress: Progress) -> np.ndarray:
    """A mask of the codes that are already households (updates, not inserts)."""
    if not session.scalar(text("SELECT EXISTS (SELECT 1 FROM household)")):
        return np.zeros(len(code_values), dtype=bool)
    codes = pgcopy.text(code_values)
    pgcopy.temp_table(session, "import_code", EXISTING_CODES_DDL)

    def encode(start: int, stop: int) -> memoryview:
        return pgcopy.encode([pgcopy.rows(codes, slice(start, stop))])

    pgcopy.copy_chunks(session, "import_code", ("code",), len(code_values), encode, progress, "match_existing")
    existing = set(session.scalars(text(EXISTING_CODES_SQL)))
    return pd.Series(code_values).isin(existing).to_numpy()


def _secondary_indexes(session: Session) -> list[tuple[str, str]]:
    """household's indexes other than the primary key and the constraints' own."""
    return session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename = 'household' AND indexname NOT IN"
        " (SELECT conname FROM pg_constraint WHERE conrelid = 'household'::regclass)")).all()


def _rebuildable_constraints(session: Session) -> list[tuple[str, str]]:
    """The unique code and the grid foreign key (the primary key stays: other tables refer to it)."""
    return session.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'household'::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname")).all()


def _copy_new(session: Session, rows: _Rows, progress: Progress) -> None:
    """COPY new households. A load that at least doubles the table (a city's first import)
    drops the spatial, tag and grid indexes, the unique code and the foreign key, and
    rebuilds them after the COPY — an index built once by sorting and a key validated by
    one join are several times faster than both maintained row by row, and they guard
    the same: a duplicate code or unknown grid fails the rebuild and so the import. DDL
    is transactional: a failed load restores them. The table is locked against other
    writers and readers until commit."""
    current = session.scalar(text("SELECT count(*) FROM household"))
    rebuild = len(rows) >= BULK_REBUILD_MIN_ROWS and len(rows) >= current
    indexes = _secondary_indexes(session) if rebuild else []
    constraints = _rebuildable_constraints(session) if rebuild else []
    for name, _ in constraints:
        session.execute(text(f'ALTER TABLE household DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        session.execute(text(f'DROP INDEX "{name}"'))
    rows.copy_into(session, "household", progress, "assign_and_write")
    steps = [f'ALTER TABLE household ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
    steps += [definition for _, definition in indexes]
    for done, statement in enumerate(steps, 1):
        session.execute(text(statement))
        progress("rebuild_indexes", done, len(steps))


def _rows(values: dict[str, Any], good: np.ndarray, grids: tuple[np.ndarray, np.ndarray]) -> _Rows:
    """The good rows, ready to COPY. Empty name, phone and risk level are NULL; empty code
    and address cannot be (code is required)."""
    size = values["size"]
    columns = {
        "code": pgcopy.text(values["code"].to_numpy()),
        "address": pgcopy.text(values["address"].to_numpy()),
        "geom": pgcopy.point(values["lon"], values["lat"], 4326),
        "size": pgcopy.int2(size.fillna(0).to_numpy(dtype=np.int64), null=size.isna().to_numpy()),
        "tags": pgcopy.text_array(values["tags"]),
        "risk_level": pgcopy.text(values["risk_level"].to_numpy(), empty_is_null=True),
        "head_name": pgcopy.text(values["head_name"].to_numpy(), empty_is_null=True),
        "phone": pgcopy.text(values["phone"].to_numpy(), empty_is_null=True),
    }
    rows = _Rows(columns, values["lon"], values["lat"], grids)
    return rows if good.all() else rows.subset(good)


def write_households(session: Session, values: dict[str, Any], good: np.ndarray,
                     progress: Progress) -> dict[str, int]:
    """Insert the ``good`` rows of ``values`` whose codes are new, update the others, each
    assigned to its grid; one transaction. ``values``: code, address, head_name, phone,
    risk_level (strings, "" for none), tags ('a|b'), size (Int64), lon and lat (WGS-84)."""
    rows = _rows(values, good, load_grid_polygons(session))
    codes = values["code"].to_numpy()[good]
    with transaction(session):
        existing = _existing_codes(session, codes, progress)
        new_rows, old_rows = rows.subset(~existing), rows.subset(existing)
        _copy_new(session, new_rows, progress)
        if len(old_rows):
            pgcopy.temp_table(session, "household_staging", STAGING_DDL)
            old_rows.copy_into(session, "household_staging", progress, "update_existing")
            session.execute(text(UPDATE_SQL))
    assigned = int((new_rows.assigned >= 0).sum() + (old_rows.assigned >= 0).sum())
    return {"created": len(new_rows), "updated": len(old_rows), "assigned": assigned}
