"""Bulk household import: validate every row, convert the CRS, assign grids, COPY.

Everything is vectorised: pandas/numpy checks, a shapely STRtree over the points
queried with the prepared grid polygons (the same rule as the SQL assignment in
gridmap.households.assignment: covering grid, smallest code on shared borders),
and PostgreSQL COPY into a staging table followed by one upsert.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.coordinates import declared_crs
from gridmap.db import raw_cursor, transaction
from gridmap.errors import Unprocessable
from gridmap.imports.common import (
    Progress,
    RowErrors,
    duplicated_mask,
    no_progress,
    pick_column,
    points,
    read_upload,
    text_column,
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
BULK_REBUILD_MIN_ROWS = 50_000

COLUMNS = ("code", "address", "geom", "grid_id", "size", "tags", "risk_level", "head_name", "phone")
COPY_OPTIONS = "WITH (FORMAT csv, FORCE_NOT_NULL (code, address))"

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
    errors.add(code.str.len().to_numpy() > 64, FIELD_NAMES["code"], "value_too_long",
               lambda i: {"field": "户号", "limit": 64})
    errors.add(duplicated_mask(code), FIELD_NAMES["code"], "duplicate_code", lambda i: {"code": code.iat[i]})

    lon, lat = points(upload, cols["lon"], cols["lat"], crs, errors)

    size_text = text_column(frame, cols["size"])
    size = pd.to_numeric(size_text, errors="coerce")
    bad_size = (size_text != "") & ~(size.between(1, 99) & (size == size.round()))
    errors.add(bad_size.to_numpy(), FIELD_NAMES["size"], "integer_out_of_range",
               lambda i: {"field": "人数", "low": 1, "high": 99, "value": size_text.iat[i]})

    risk_text = text_column(frame, cols["risk_level"]).str.lower()
    risk = risk_text.map(RISK_VALUES)
    errors.add(risk.isna().to_numpy(), FIELD_NAMES["risk_level"], "invalid_choice",
               lambda i: {"field": "风险等级", "value": risk_text.iat[i], "choices": "高、中、低"})

    phone = text_column(frame, cols["phone"])
    errors.add(phone.str.len().to_numpy() > 32, FIELD_NAMES["phone"], "value_too_long",
               lambda i: {"field": "电话", "limit": 32})

    tags = text_column(frame, cols["tags"]).str.replace(TAG_SEPARATORS, "|", regex=True).str.strip("|")
    values = {
        "code": code, "address": text_column(frame, cols["address"]), "lon": lon, "lat": lat,
        "size": size.astype("Int64"), "tags": tags, "risk_level": risk.fillna(""),
        "head_name": text_column(frame, cols["head_name"]), "phone": phone,
    }
    return errors, values


def _csv_chunk(rows: pd.DataFrame, start: int) -> io.StringIO:
    buffer = io.StringIO()
    rows.iloc[start:start + COPY_CHUNK].to_csv(buffer, index=False, header=False, na_rep="")
    buffer.seek(0)
    return buffer


def _copy_rows(session: Session, table: str, columns: tuple[str, ...], rows: pd.DataFrame,
               progress: Progress, stage: str = "写入数据库") -> None:
    """COPY ``rows`` (already in PostgreSQL text forms) into ``table`` in chunks. The next
    chunk is formatted in a thread while the server ingests this one (psycopg2 releases
    the GIL while it waits), so Python and PostgreSQL work on the two cores at once."""
    cursor = raw_cursor(session)
    total = len(rows)
    options = COPY_OPTIONS if "address" in columns else "WITH (FORMAT csv)"
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN {options}"
    starts = list(range(0, total, COPY_CHUNK))
    with ThreadPoolExecutor(max_workers=1) as formatter:
        pending = formatter.submit(_csv_chunk, rows, starts[0]) if starts else None
        for index, start in enumerate(starts):
            buffer = pending.result()
            if index + 1 < len(starts):
                pending = formatter.submit(_csv_chunk, rows, starts[index + 1])
            cursor.copy_expert(statement, buffer)
            progress(stage, min(start + COPY_CHUNK, total), total)


def _existing_codes(session: Session, codes: pd.Series, progress: Progress) -> np.ndarray:
    """A mask of the codes that are already households (updates, not inserts)."""
    if not session.scalar(text("SELECT EXISTS (SELECT 1 FROM household)")):
        return np.zeros(len(codes), dtype=bool)
    session.execute(text("DROP TABLE IF EXISTS import_code"))
    session.execute(text(EXISTING_CODES_DDL))
    _copy_rows(session, "import_code", ("code",), codes.to_frame(), progress, "比对已有住户")
    existing = set(session.scalars(text(EXISTING_CODES_SQL)))
    return codes.isin(existing).to_numpy()


def _pg_text_array(joined: pd.Series) -> np.ndarray:
    """'a|b' → '{"a","b"}' (PostgreSQL array literal), '' → '{}', vectorised."""
    escaped = joined.str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    literal = '{"' + escaped.str.replace("|", '","', regex=False) + '"}'
    return np.where(joined == "", "{}", literal)


def _secondary_indexes(session: Session) -> list[tuple[str, str]]:
    return session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND tablename = 'household' AND indexname NOT IN ('pk_household', 'uq_household_code')")).all()


def _foreign_keys(session: Session) -> list[tuple[str, str]]:
    return session.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'household'::regclass AND contype = 'f'")).all()


def _copy_new(session: Session, rows: pd.DataFrame, progress: Progress) -> None:
    """COPY new households. A load that at least doubles the table (a city's first import)
    drops the spatial, tag and grid indexes and the foreign key, and rebuilds them after
    the COPY — an index built once and a key validated by one join are several times
    faster than both maintained row by row. DDL is transactional: a failed load restores
    them. The table is locked against other writers and readers until commit."""
    current = session.scalar(text("SELECT count(*) FROM household"))
    rebuild = len(rows) >= BULK_REBUILD_MIN_ROWS and len(rows) >= current
    indexes = _secondary_indexes(session) if rebuild else []
    keys = _foreign_keys(session) if rebuild else []
    for name, _ in keys:
        session.execute(text(f'ALTER TABLE household DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        session.execute(text(f'DROP INDEX "{name}"'))
    _copy_rows(session, "household", COLUMNS, rows, progress)
    steps = [definition for _, definition in indexes]
    steps += [f'ALTER TABLE household ADD CONSTRAINT "{name}" {definition}' for name, definition in keys]
    for done, statement in enumerate(steps, 1):
        session.execute(text(statement))
        progress("重建索引", done, len(steps))


def _write(session: Session, rows: pd.DataFrame, progress: Progress) -> tuple[int, int]:
    existing = _existing_codes(session, rows["code"], progress)
    new_rows, old_rows = rows[~existing], rows[existing]
    _copy_new(session, new_rows, progress)
    if len(old_rows):
        session.execute(text("DROP TABLE IF EXISTS household_staging"))
        session.execute(text(STAGING_DDL))
        _copy_rows(session, "household_staging", COLUMNS, old_rows, progress, "更新已有住户")
        session.execute(text(UPDATE_SQL))
    return len(new_rows), len(old_rows)


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
    grid_ids, polygons = load_grid_polygons(session)
    progress("分配网格", 0, int(good.sum()))
    assigned = assign_points(values["lon"][good], values["lat"][good], grid_ids, polygons)
    progress("分配网格", int(good.sum()), int(good.sum()))
    points = shapely.set_srid(shapely.points(values["lon"][good], values["lat"][good]), 4326)
    rows = pd.DataFrame({
        "code": values["code"][good].to_numpy(), "address": values["address"][good].to_numpy(),
        "geom": shapely.to_wkb(points, hex=True, include_srid=True),
        "grid_id": pd.array(np.where(assigned >= 0, assigned, None), dtype="Int64"),
        "size": values["size"][good].to_numpy(), "tags": _pg_text_array(values["tags"][good]),
        "risk_level": values["risk_level"][good].to_numpy(), "head_name": values["head_name"][good].to_numpy(),
        "phone": values["phone"][good].to_numpy(),
    })
    with transaction(session):
        created, updated = _write(session, rows, progress)
    inside = int((assigned >= 0).sum())
    return {
        "imported": int(created + updated), "created": int(created), "updated": int(updated),
        "assigned": inside, "outside_grids": int(len(rows) - inside),
        "errors": errors.as_list(), "error_count": errors.count,
    }
