"""Bulk household import: validate every row, convert the CRS, assign grids, COPY.

Everything is vectorised: pandas/numpy checks, a shapely STRtree over the points
queried with the prepared grid polygons (the same rule as the SQL assignment in
gridmap.households.assignment: covering grid, smallest code on shared borders),
and PostgreSQL COPY into a staging table followed by one upsert.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.coordinates import declared_crs
from gridmap.db import raw_cursor, transaction
from gridmap.errors import Unprocessable
from gridmap.geo.crs import to_wgs84
from gridmap.geo.validate import check_points
from gridmap.imports.common import Progress, RowErrors, duplicated_mask, no_progress, pick_column, read_upload

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

STAGING_DDL = """
CREATE TEMP TABLE household_staging (
    code text, address text, lon float8, lat float8, grid_id int,
    size int, tags text, risk_level text, head_name text, phone text
) ON COMMIT DROP
"""

UPSERT_SQL = """
WITH written AS (
    INSERT INTO household AS h (code, address, geom, grid_id, size, tags, risk_level, head_name, phone)
    SELECT code, coalesce(address, ''), ST_SetSRID(ST_MakePoint(lon, lat), 4326), grid_id, size,
           CASE WHEN coalesce(tags, '') = '' THEN '{}'::text[] ELSE string_to_array(tags, '|') END,
           nullif(risk_level, ''), nullif(head_name, ''), nullif(phone, '')
    FROM household_staging
    ON CONFLICT (code) DO UPDATE SET
        address = EXCLUDED.address, geom = EXCLUDED.geom, grid_id = EXCLUDED.grid_id,
        size = EXCLUDED.size, tags = EXCLUDED.tags, risk_level = EXCLUDED.risk_level,
        head_name = EXCLUDED.head_name, phone = EXCLUDED.phone, updated_at = now()
    RETURNING (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM written
"""


def _column(frame: pd.DataFrame, name: str | None) -> pd.Series:
    if name is None:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[name].fillna("").astype(str).str.strip()


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
    n = len(frame)
    code = _column(frame, cols["code"])
    errors.add((code == "").to_numpy(), FIELD_NAMES["code"], "missing_field", lambda i: {"field": "户号"})
    errors.add(code.str.len().to_numpy() > 64, FIELD_NAMES["code"], "value_too_long",
               lambda i: {"field": "户号", "limit": 64})
    errors.add(duplicated_mask(code), FIELD_NAMES["code"], "duplicate_code", lambda i: {"code": code.iat[i]})

    if upload.spatial:
        geoms = upload.geometries
        errors.add_problems(upload.geometry_problems, "geometry")
        is_point = shapely.get_type_id(geoms) == 0
        lon_raw = np.where(is_point, shapely.get_x(geoms), np.nan)
        lat_raw = np.where(is_point, shapely.get_y(geoms), np.nan)
        errors.add(~is_point, "geometry", "geometry_wrong_type",
                   lambda i: {"expected": "Point", "actual": getattr(geoms[i], "geom_type", "空")})
        lon_text = lat_text = pd.Series(["x"] * n)
    else:
        lon_text, lat_text = _column(frame, cols["lon"]), _column(frame, cols["lat"])
        lon_raw = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=float)
        lat_raw = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=float)
        missing = ((lon_text == "") | (lat_text == "")).to_numpy()
        errors.add(missing, "经度/纬度", "coordinate_missing")
        errors.add(np.isnan(lon_raw) | np.isnan(lat_raw), "经度/纬度", "coordinate_not_number")

    lon, lat = to_wgs84(lon_raw, lat_raw, crs)
    errors.add_problems(np.where(errors.bad, None, check_points(lon, lat)), "经度/纬度")

    size_text = _column(frame, cols["size"])
    size = pd.to_numeric(size_text, errors="coerce")
    bad_size = (size_text != "") & ~(size.between(1, 99) & (size == size.round()))
    errors.add(bad_size.to_numpy(), FIELD_NAMES["size"], "integer_out_of_range",
               lambda i: {"field": "人数", "low": 1, "high": 99, "value": size_text.iat[i]})

    risk_text = _column(frame, cols["risk_level"]).str.lower()
    risk = risk_text.map(RISK_VALUES)
    errors.add(risk.isna().to_numpy(), FIELD_NAMES["risk_level"], "invalid_choice",
               lambda i: {"field": "风险等级", "value": risk_text.iat[i], "choices": "高、中、低"})

    phone = _column(frame, cols["phone"])
    errors.add(phone.str.len().to_numpy() > 32, FIELD_NAMES["phone"], "value_too_long",
               lambda i: {"field": "电话", "limit": 32})

    tags = _column(frame, cols["tags"]).str.replace(TAG_SEPARATORS, "|", regex=True).str.strip("|")
    values = {
        "code": code, "address": _column(frame, cols["address"]), "lon": lon, "lat": lat,
        "size": size.astype("Int64"), "tags": tags, "risk_level": risk.fillna(""),
        "head_name": _column(frame, cols["head_name"]), "phone": phone,
    }
    return errors, values


def _copy_staging(session: Session, rows: pd.DataFrame, progress: Progress) -> None:
    session.execute(text("DROP TABLE IF EXISTS household_staging"))
    session.execute(text(STAGING_DDL))
    cursor = raw_cursor(session)
    total = len(rows)
    for start in range(0, total, COPY_CHUNK):
        chunk = rows.iloc[start:start + COPY_CHUNK]
        buffer = io.StringIO()
        chunk.to_csv(buffer, index=False, header=False, na_rep="")
        buffer.seek(0)
        cursor.copy_expert(
            "COPY household_staging (code, address, lon, lat, grid_id, size, tags, risk_level, head_name, phone)"
            " FROM STDIN WITH (FORMAT csv)", buffer)
        progress("写入数据库", min(start + COPY_CHUNK, total), total)


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
    rows = pd.DataFrame({
        "code": values["code"][good].to_numpy(), "address": values["address"][good].to_numpy(),
        "lon": values["lon"][good], "lat": values["lat"][good],
        "grid_id": pd.array(np.where(assigned >= 0, assigned, None), dtype="Int64"),
        "size": values["size"][good].to_numpy(), "tags": values["tags"][good].to_numpy(),
        "risk_level": values["risk_level"][good].to_numpy(), "head_name": values["head_name"][good].to_numpy(),
        "phone": values["phone"][good].to_numpy(),
    })
    with transaction(session):
        _copy_staging(session, rows, progress)
        created, updated = session.execute(text(UPSERT_SQL)).one()
    inside = int((assigned >= 0).sum())
    return {
        "imported": int(created + updated), "created": int(created), "updated": int(updated),
        "assigned": inside, "outside_grids": int(len(rows) - inside),
        "errors": errors.as_list(), "error_count": errors.count,
    }
