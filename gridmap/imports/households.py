"""Bulk household import: validate every row, convert the CRS, assign grids, COPY.

Everything is vectorised: pandas/numpy checks, a shapely STRtree over the points
queried with the prepared grid polygons (the same rule as the SQL assignment in
gridmap.households.assignment: covering grid, smallest code on shared borders),
and binary COPY (gridmap.imports.pgcopy) straight into household; codes that
already exist go through a staging table and one UPDATE.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.coordinates import declared_crs
from gridmap.db import raw_cursor, transaction
from gridmap.errors import Unprocessable
from gridmap.imports import pgcopy
from gridmap.imports.common import (
    Progress,
    RowErrors,
    duplicated_mask,
    no_progress,
    per_distinct,
    pick_column,
    points,
    read_upload,
    text_column,
    text_lengths,
)

ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "户号", "household_code", "编号"),
    "address": ("address", "地址", "住址"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "head_name": ("head_name", "户主", "户主姓名", "姓名", "name"),
    "phone": ("phone", "电话", "联系电话", "手机", "手机号"),
    "size": ("size", "人数", "户人数", "人口"),
    "tags": ("tags", "标签", "人员类别"),
    "risk_level": ("risk_level", "风险等级", "风险"),
}
FIELD_NAMES = {"code": "户号", "address": "地址", "lon": "经度", "lat": "纬度", "head_name": "户主",
               "phone": "电话", "size": "人数", "tags": "标签", "risk_level": "风险等级"}
RISK_VALUES = {"high": "high", "medium": "medium", "low": "low", "高": "high", "中": "medium", "低": "low",
               "高风险": "high", "中风险": "medium", "低风险": "low", "": ""}
TAG_SEPARATORS = r"[;；,，、|/\s]+"
COPY_CHUNK = 100_000
FIRST_COPY_CHUNK = 20_000
BULK_REBUILD_MIN_ROWS = 50_000

COLUMNS = ("code", "address", "geom", "grid_id", "size", "tags", "risk_level", "head_name", "phone")

# Codes of this import that already exist: they are updated, every other row is copied
# straight into household (no staging table, no ON CONFLICT: the fast path for new data).
EXISTING_CODES_DDL = "CREATE TEMP TABLE import_code (code text) ON COMMIT DROP"
EXISTING_CODES_SQL = "SELECT i.code FROM import_code i JOIN household h ON h.code = i.code"
STAGING_DDL = "CREATE TEMP TABLE household_staging (LIKE household INCLUDING DEFAULTS) ON COMMIT DROP"
UPDATE_SQL = """
UPDATE household h SET
    address = s.address, geom = s.geom, grid_id = s.grid_id, size = s.size, tags = s.tags,
    risk_level = s.risk_level, head_name = s.head_name, phone = s.phone, updated_at = now()
FROM household_staging s WHERE h.code = s.code
"""


def load_grid_polygons(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """Map grids' ids and polygons, ordered by code (index order = tie-break order)."""
    rows = session.execute(text(
        "SELECT id, ST_AsBinary(geom) FROM grid WHERE kind = 'map' ORDER BY code")).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    polygons = shapely.from_wkb([bytes(r[1]) for r in rows]) if rows else np.array([], dtype=object)
    return ids, polygons


def assign_points(lon: np.ndarray, lat: np.ndarray, grid_ids: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Grid id per point (-1 outside every grid): covering grid, smallest code wins."""
    result = np.full(len(lon), -1, dtype=np.int64)
    if len(lon) == 0 or len(polygons) == 0:
        return result
    points = shapely.points(lon, lat)
    tree = shapely.STRtree(points)
    polygon_idx, point_idx = tree.query(polygons, predicate="intersects")
    if len(point_idx) == 0:
        return result
    order = np.lexsort((polygon_idx, point_idx))  # by point, then by grid code rank
    point_idx, polygon_idx = point_idx[order], polygon_idx[order]
    first = np.ones(len(point_idx), dtype=bool)
    first[1:] = point_idx[1:] != point_idx[:-1]
    result[point_idx[first]] = grid_ids[polygon_idx[first]]
    return result


def _validate(frame: pd.DataFrame, upload, crs: str) -> tuple[RowErrors, dict[str, Any]]:
    cols = {f: pick_column(frame, None, aliases) for f, aliases in ALIASES.items()}
    errors = RowErrors(upload)
    code = text_column(frame, cols["code"])
    errors.add((code == "").to_numpy(), FIELD_NAMES["code"], "missing_field", lambda i: {"field": "户号"})
    errors.add(text_lengths(code) > 64, FIELD_NAMES["code"], "value_too_long",
               lambda i: {"field": "户号", "limit": 64})
    errors.add(duplicated_mask(code), FIELD_NAMES["code"], "duplicate_code", lambda i: {"code": code.iat[i]})

    lon, lat = points(upload, cols["lon"], cols["lat"], crs, errors)

    size_text = text_column(frame, cols["size"])
    size = per_distinct(size_text, lambda distinct: pd.to_numeric(distinct, errors="coerce"))
    bad_size = (size_text != "") & ~(size.between(1, 99) & (size == size.round()))
    errors.add(bad_size.to_numpy(), FIELD_NAMES["size"], "integer_out_of_range",
               lambda i: {"field": "人数", "low": 1, "high": 99, "value": size_text.iat[i]})

    risk_text = text_column(frame, cols["risk_level"])
    risk = per_distinct(risk_text, lambda distinct: distinct.str.lower().map(RISK_VALUES))
    errors.add(risk.isna().to_numpy(), FIELD_NAMES["risk_level"], "invalid_choice",
               lambda i: {"field": "风险等级", "value": risk_text.iat[i].lower(), "choices": "高、中、低"})

    phone = text_column(frame, cols["phone"])
    errors.add(text_lengths(phone) > 32, FIELD_NAMES["phone"], "value_too_long",
               lambda i: {"field": "电话", "limit": 32})

    tags = per_distinct(text_column(frame, cols["tags"]),
                        lambda distinct: distinct.str.replace(TAG_SEPARATORS, "|", regex=True).str.strip("|"))
    values = {
        "code": code, "address": text_column(frame, cols["address"]), "lon": lon, "lat": lat,
        "size": size.where(~bad_size).astype("Int64"), "tags": tags, "risk_level": risk.fillna(""),
        "head_name": text_column(frame, cols["head_name"]), "phone": phone,
    }
    return errors, values


def _copy_rows(session: Session, table: str, names: tuple[str, ...], total: int,
               encode_chunk: Callable[[int, int], memoryview], progress: Progress,
               stage: str) -> None:
    """Binary COPY of rows [0, total) into ``table`` in chunks. ``encode_chunk(start, stop)``
    builds the next chunk in a thread while the server ingests this one (psycopg2 releases
    the GIL while it waits), so Python and PostgreSQL work on the two cores at once."""
    if total == 0:
        return
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT binary)"
    # A small first chunk: the server waits for it, nothing overlaps its encoding.
    bounds = [0, *range(min(FIRST_COPY_CHUNK, total), total, COPY_CHUNK), total]
    with raw_cursor(session) as cursor, ThreadPoolExecutor(max_workers=1) as encoder:
        pending = encoder.submit(encode_chunk, bounds[0], bounds[1])
        for index in range(1, len(bounds)):
            chunk = pending.result()
            if index + 1 < len(bounds):
                pending = encoder.submit(encode_chunk, bounds[index], bounds[index + 1])
            cursor.copy_expert(statement, io.BytesIO(chunk), size=len(chunk))  # one read: no GIL per 8 kB
            progress(stage, bounds[index], total)


@dataclass
class _Rows:
    """Good rows in household's binary forms (COLUMNS order, grid_id aside). Each COPY
    chunk's grid ids are found when the chunk is encoded, so the STRtree assignment of
    one chunk runs while the server ingests the previous one."""

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
        _copy_rows(session, table, COLUMNS, len(self), self.encode, progress, stage)


def _existing_codes(session: Session, code_values: np.ndarray, progress: Progress) -> np.ndarray:
    """A mask of the codes that are already households (updates, not inserts)."""
    if not session.scalar(text("SELECT EXISTS (SELECT 1 FROM household)")):
        return np.zeros(len(code_values), dtype=bool)
    codes = pgcopy.text(code_values)
    session.execute(text("DROP TABLE IF EXISTS import_code"))
    session.execute(text(EXISTING_CODES_DDL))
    def encode(start: int, stop: int) -> memoryview:
        return pgcopy.encode([pgcopy.rows(codes, slice(start, stop))])

    _copy_rows(session, "import_code", ("code",), len(code_values), encode, progress, "比对已有住户")
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
    rows.copy_into(session, "household", progress, "分配网格并写入")
    steps = [f'ALTER TABLE household ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
    steps += [definition for _, definition in indexes]
    for done, statement in enumerate(steps, 1):
        session.execute(text(statement))
        progress("重建索引", done, len(steps))


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


def _write(session: Session, rows: _Rows, codes: np.ndarray, progress: Progress) -> tuple[int, int, int]:
    """Insert the new rows, update the existing ones; (created, updated, assigned to a grid)."""
    existing = _existing_codes(session, codes, progress)
    new_rows, old_rows = rows.subset(~existing), rows.subset(existing)
    _copy_new(session, new_rows, progress)
    if len(old_rows):
        session.execute(text("DROP TABLE IF EXISTS household_staging"))
        session.execute(text(STAGING_DDL))
        old_rows.copy_into(session, "household_staging", progress, "更新已有住户")
        session.execute(text(UPDATE_SQL))
    assigned = int((new_rows.assigned >= 0).sum() + (old_rows.assigned >= 0).sum())
    return len(new_rows), len(old_rows), assigned


def import_households(session: Session, path: str, filename: str, *, crs: str | None = None,
                      skip_errors: bool = False, progress: Progress = no_progress) -> dict[str, Any]:
    declared_crs(crs)  # a bad CRS is refused before the file is read
    upload = read_upload(path, filename)
    crs = declared_crs(upload.crs(crs))
    frame = upload.columns
    if pick_column(frame, None, ALIASES["code"]) is None:
        raise Unprocessable("missing_field", details={"field": "户号"}, field="户号 / code")
    if not upload.spatial and (pick_column(frame, None, ALIASES["lon"]) is None
                               or pick_column(frame, None, ALIASES["lat"]) is None):
        raise Unprocessable("missing_field", details={"field": "经度/纬度"}, field="经度/纬度 (lon/lat)")
    progress("校验", 0, len(frame))
    errors, values = _validate(frame, upload, crs)
    progress("校验", len(frame), len(frame))
    errors.reject_unless(skip_errors)

    good = ~errors.bad
    rows = _rows(values, good, load_grid_polygons(session))
    with transaction(session):
        created, updated, inside = _write(session, rows, values["code"].to_numpy()[good], progress)
    return {
        "imported": int(created + updated), "created": int(created), "updated": int(updated),
        "assigned": inside, "outside_grids": int(len(rows) - inside),
        "errors": errors.as_list(), "error_count": errors.count,
    }
