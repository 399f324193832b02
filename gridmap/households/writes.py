"""Bulk writes of the household table: validated rows in, binary COPY, assignment on the way.

Rows arrive checked, a part of the file at a time (gridmap.imports.households reads and
validates the file in parts), and ``HouseholdWriter`` writes each part in the import's one
transaction. A part's grids are found by the in-memory twin of the assignment rule
(gridmap.households.assignment.assign_points) while it is encoded, and its COPY runs in a
thread while the next part is read, checked and encoded (one part in flight). New codes go
straight into household (no staging table, no ON CONFLICT: the fast path for new data);
codes that already exist go through a staging table and one UPDATE at the end (a new
version of each, so a phone holding the old one gets a 409; a household moved out or
merged stays without a grid).

A code met again in a later part is a duplicate the writer cannot see in memory (it keeps
no codes): it raises ``DuplicateCode`` when the database finds one — the unique code
rebuilt after a first large load, this import's own rows found among the existing codes,
or the staging table's unique code — and the importer then reports the rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import pandas as pd
from psycopg2 import errors as pg_errors
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridmap import pgcopy
from gridmap.households import address_index
from gridmap.households.assignment import assign_points, load_grid_polygons
from gridmap.pgcopy import Progress

BULK_REBUILD_MIN_ROWS = 50_000

COLUMNS = ("code", "address", "geom", "grid_id", "size", "tags", "risk_level", "head_name", "phone")

# A part's codes, to find those that already exist (updates, not inserts).
PART_CODES_DDL = "CREATE TEMP TABLE import_code (code text) ON COMMIT DROP"
# The codes this import has copied in as new households (when the table was not empty).
NEW_CODES_DDL = "CREATE TEMP TABLE import_new_code (code text PRIMARY KEY) ON COMMIT DROP"
# Existing codes; ``ours``: one this import inserted (the code was in an earlier part).
EXISTING_CODES_SQL = """
SELECT i.code, n.code IS NOT NULL AS ours
FROM import_code i JOIN household h ON h.code = i.code LEFT JOIN import_new_code n ON n.code = i.code
"""
# Before a first large load drops household's unique code: the codes already there, each
# taken out when a part updates it (a second update of it is then a new row, and a duplicate).
PRIOR_CODES_DDL = "CREATE TEMP TABLE prior_code ON COMMIT DROP AS SELECT code FROM household"
TAKE_PRIOR_SQL = "DELETE FROM prior_code p USING import_code i WHERE p.code = i.code RETURNING p.code"
STAGING_DDL = "CREATE TEMP TABLE household_staging (LIKE household INCLUDING DEFAULTS) ON COMMIT DROP"
STAGING_KEY = "CREATE UNIQUE INDEX ON household_staging (code)"
UPDATE_SQL = """
UPDATE household h SET
    address = s.address, geom = s.geom, grid_id = CASE WHEN h.status = 'active' THEN s.grid_id END,
    size = s.size, tags = s.tags, risk_level = s.risk_level, head_name = s.head_name, phone = s.phone,
    updated_at = now(), version = h.version + 1
FROM household_staging s WHERE h.code = s.code
"""


class DuplicateCode(Exception):
    """A code written by an earlier part of this import came again."""


@contextmanager
def _unique_codes() -> Iterator[None]:
    """A unique code violated by a COPY (household's or the staging table's) is a DuplicateCode."""
    try:
        yield
    except pg_errors.UniqueViolation:
        raise DuplicateCode() from None
    except IntegrityError as error:
        if isinstance(error.orig, pg_errors.UniqueViolation):
            raise DuplicateCode() from None
        raise


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


def _secondary_indexes(session: Session) -> list[tuple[str, str]]:
    """household's indexes other than the primary key, the constraints' own and GIN ones.
    The tags' GIN index takes new rows into its pending list on the server's core while this
    process reads the next part. The address trigrams' is dropped and built after the commit
    instead (gridmap.households.address_index): rebuilt inside the import it took 26.7 s of
    the 41.8 s rebuild at 5 M rows, and kept up during the load about 40 s of the server's CPU
    (scripts/bench/assign, 5 Dec 2026)."""
    return session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename = 'household' AND indexdef NOT LIKE '% USING gin %' AND indexname NOT IN"
        " (SELECT conname FROM pg_constraint WHERE conrelid = 'household'::regclass)")).all()


def _rebuildable_constraints(session: Session) -> list[tuple[str, str]]:
    """The unique code and the grid foreign key (the primary key stays: other tables refer to it)."""
    return session.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'household'::regclass AND contype IN ('u', 'f') ORDER BY contype DESC, conname")).all()


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


class HouseholdWriter:
    """Writes an import's good rows part by part inside the caller's transaction; a ``with``
    block (leaving it waits for the last COPY). ``expected_rows``: about how many rows the file
    holds (decides the first-large-load path and the progress totals).

    A load that at least doubles the table (a city's first import) drops the spatial and grid
    indexes, the unique code and the foreign key, and rebuilds them in ``finish`` —
    an index built once by sorting and a key validated by one join are several times faster
    than both maintained row by row, and they guard the same: a duplicate code or unknown grid
    fails the rebuild and so the import. DDL is transactional: a failed load restores them.
    The table is then locked against other writers and readers until commit. It also drops
    the address trigram index, which the import's caller builds after the commit
    (gridmap.households.address_index.ensure)."""

    def __init__(self, session: Session, expected_rows: int, progress: Progress):
        self.session, self.total, self.progress = session, max(expected_rows, 1), progress
        self.grids = load_grid_polygons(session)
        current = session.scalar(text("SELECT count(*) FROM household"))
        rebuild = expected_rows >= BULK_REBUILD_MIN_ROWS and expected_rows >= current
        self.lookup = "" if not current else "prior" if rebuild else "household"
        if self.lookup == "prior":
            pgcopy.temp_table(session, "prior_code", PRIOR_CODES_DDL)
            session.execute(text("ALTER TABLE prior_code ADD PRIMARY KEY (code)"))
        elif self.lookup == "household":
            pgcopy.temp_table(session, "import_new_code", NEW_CODES_DDL)
        self.indexes = _secondary_indexes(session) if rebuild else []
        self.constraints = _rebuildable_constraints(session) if rebuild else []
        for name, _ in self.constraints:
            session.execute(text(f'ALTER TABLE household DROP CONSTRAINT "{name}"'))
        for name, _ in self.indexes:
            session.execute(text(f'DROP INDEX "{name}"'))
        if rebuild:
            address_index.drop(session)
        self.created = self.updated = self.assigned = self.done = 0
        self.staging = self.part_codes = False
        self.pipe = pgcopy.Pipe(session, "household", COLUMNS)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind, error, trace) -> None:
        with _unique_codes():
            self.pipe.__exit__(kind, error, trace)

    def write(self, values: dict[str, Any], good: np.ndarray, rows_read: int) -> None:
        """The ``good`` rows of one part (``values`` as gridmap.imports.households makes them).
        ``rows_read``: the file's rows read so far, for the progress callback."""
        with _unique_codes():
            self._write(_rows(values, good, self.grids), values["code"].to_numpy()[good])
        self.done = rows_read
        self.progress("assign_and_write", rows_read, max(self.total, rows_read))

    def _write(self, rows: _Rows, codes: np.ndarray) -> None:
        existing = self._existing(codes) if self.lookup else None
        if existing is not None and existing.any():
            self._stage(rows.subset(existing))  # before the COPY below: they share the connection
        new = rows if existing is None else rows.subset(~existing)
        if len(new) and self.lookup == "household":  # the COPY below is not in flight yet
            pgcopy.copy(self.session, "import_new_code", {"code": pgcopy.text(codes[~existing])})
        if len(new):
            self.pipe.send(new.encode(0, len(new)))
            self.created += len(new)
            self.assigned += int((new.assigned >= 0).sum())

    def finish(self) -> dict[str, int]:
        """Wait for the last COPY, rebuild what was dropped, update the existing households."""
        with _unique_codes():
            self.pipe.wait()
        steps = [f'ALTER TABLE household ADD CONSTRAINT "{name}" {definition}'
                 for name, definition in self.constraints]
        steps += [definition for _, definition in self.indexes]
        for done, statement in enumerate(steps, 1):
            with _unique_codes():
                self.session.execute(text(statement))
            self.progress("rebuild_indexes", done, len(steps))
        if self.staging:
            self.session.execute(text(UPDATE_SQL))
        return {"created": self.created, "updated": self.updated, "assigned": self.assigned}

    def _existing(self, codes: np.ndarray) -> np.ndarray:
        """A mask of the part's codes that were households before this import (the COPY
        in flight is waited for: the lookup shares its connection)."""
        self.pipe.wait()
        if not self.part_codes:
            pgcopy.temp_table(self.session, "import_code", PART_CODES_DDL)
            self.part_codes = True
        else:
            self.session.execute(text("TRUNCATE import_code"))
        pgcopy.copy(self.session, "import_code", {"code": pgcopy.text(codes)})
        if self.lookup == "prior":
            found = self.session.scalars(text(TAKE_PRIOR_SQL)).all()
        else:
            rows = self.session.execute(text(EXISTING_CODES_SQL)).all()
            if any(ours for _, ours in rows):
                raise DuplicateCode()
            found = [code for code, _ in rows]
        self.progress("match_existing", self.done + len(codes), self.total)
        return pd.Series(codes).isin(found).to_numpy() if found else np.zeros(len(codes), dtype=bool)

    def _stage(self, rows: _Rows) -> None:
        if not self.staging:
            pgcopy.temp_table(self.session, "household_staging", STAGING_DDL)
            self.session.execute(text(STAGING_KEY))
            self.staging = True
        rows.copy_into(self.session, "household_staging", self.progress, "update_existing")
        self.updated += len(rows)
        self.assigned += int((rows.assigned >= 0).sum())
