"""Bulk party-member import (CSV/XLSX): 姓名, 电话, 支部, and either 经度/纬度 (in the
declared CRS) or the 户号 of the household the member lives in.

The same rules as the household import (gridmap.imports.households): every row is
checked with vectorised pandas/numpy, all or nothing unless ``skip_errors``, members
placed by coordinates go to the covering grid (the shared STRtree rule, smallest code
on a border), members placed at a household take its point and grid. Rows go through
COPY into a staging table and one upsert: a row whose 姓名 and 电话 match an existing
party member updates it, any other row creates one.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.coordinates import declared_crs
from gridmap.db import raw_cursor, transaction
from gridmap.errors import Unprocessable
from gridmap.geo.crs import to_wgs84
from gridmap.geo.validate import check_points
from gridmap.imports.common import (
    Progress,
    RowErrors,
    duplicated_mask,
    no_progress,
    pick_column,
    read_upload,
    text_column,
    text_lengths,
)
from gridmap.imports.households import assign_points, load_grid_polygons

ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名", "党员姓名"),
    "phone": ("phone", "电话", "联系电话", "手机", "手机号"),
    "branch": ("branch", "支部", "党支部", "所在支部"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "household_code": ("household_code", "户号", "住户户号"),
}

STAGING_DDL = """
CREATE TEMP TABLE party_member_staging (
    name text, phone text, branch text, lon float8, lat float8, grid_id int, household_id int
) ON COMMIT DROP
"""

UPSERT_SQL = """
WITH src AS (
    SELECT row_number() OVER () AS n, name, nullif(phone, '') AS phone, nullif(branch, '') AS branch,
           ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom, grid_id, household_id
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


def _households(session: Session, codes: list[str]) -> pd.DataFrame:
    rows = session.execute(text("""
        SELECT code, id, grid_id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM household WHERE code = ANY(:codes)
    """), {"codes": codes}).all()
    return pd.DataFrame(rows, columns=["code", "id", "grid_id", "lon", "lat"]).set_index("code")


def import_party_members(session: Session, path: str, filename: str, *, crs: str | None = None,
                         skip_errors: bool = False, progress: Progress = no_progress) -> dict[str, Any]:
    declared_crs(crs)
    upload = read_upload(path, filename)
    crs = declared_crs(upload.crs(crs))
    frame = upload.columns
    cols = {key: pick_column(frame, None, aliases) for key, aliases in ALIASES.items()}
    if cols["name"] is None:
        raise Unprocessable("missing_field", details={"field": "姓名"}, field="姓名 / name")
    if cols["household_code"] is None and (cols["lon"] is None or cols["lat"] is None):
        raise Unprocessable("missing_field", details={"field": "经度/纬度"}, field="经度/纬度 或 户号")
    n = len(frame)
    progress("校验", 0, n)
    errors = RowErrors(upload)
    name, phone, branch = text_column(frame, cols["name"]), text_column(frame, cols["phone"]), text_column(frame, cols["branch"])
    household_code = text_column(frame, cols["household_code"])
    errors.add((name == "").to_numpy(), "姓名", "missing_field", lambda i: {"field": "姓名"})
    errors.add(text_lengths(name) > 64, "姓名", "value_too_long", lambda i: {"field": "姓名", "limit": 64})
    errors.add(text_lengths(phone) > 32, "电话", "value_too_long", lambda i: {"field": "电话", "limit": 32})
    key = (name + "|" + phone).where(phone != "", "")
    errors.add(duplicated_mask(key), "姓名", "duplicate_code", lambda i: {"code": f"{name.iat[i]} {phone.iat[i]}"})

    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    grid_id = np.full(n, -1, dtype=np.int64)
    household_id = np.full(n, -1, dtype=np.int64)

    at_household = (household_code != "").to_numpy()
    if at_household.any():
        found = _households(session, sorted(set(household_code[at_household])))
        known = household_code.isin(found.index).to_numpy()
        errors.add(at_household & ~known, "户号", "household_not_found", lambda i: {"code": household_code.iat[i]})
        ok = at_household & known
        rows = found.loc[household_code[ok]]
        lon[ok], lat[ok] = rows["lon"].to_numpy(), rows["lat"].to_numpy()
        household_id[ok] = rows["id"].to_numpy()
        grid_id[ok] = rows["grid_id"].fillna(-1).astype(np.int64).to_numpy()

    by_point = ~at_household
    if by_point.any():
        lon_text, lat_text = text_column(frame, cols["lon"]), text_column(frame, cols["lat"])
        missing = by_point & ((lon_text == "") | (lat_text == "")).to_numpy()
        errors.add(missing, "经度/纬度", "coordinate_missing")
        lon_raw = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=float)
        lat_raw = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=float)
        errors.add(by_point & (np.isnan(lon_raw) | np.isnan(lat_raw)), "经度/纬度", "coordinate_not_number")
        x, y = to_wgs84(lon_raw, lat_raw, crs)
        problems = check_points(x, y)
        errors.add_problems(np.where(by_point & ~errors.bad, problems, None), "经度/纬度")
        ok = by_point & ~errors.bad
        lon[ok], lat[ok] = x[ok], y[ok]
        ids, polygons = load_grid_polygons(session)
        grid_id[ok] = assign_points(lon[ok], lat[ok], ids, polygons)
    progress("校验", n, n)
    errors.reject_unless(skip_errors)

    good = ~errors.bad
    rows = pd.DataFrame({
        "name": name[good].to_numpy(), "phone": phone[good].to_numpy(), "branch": branch[good].to_numpy(),
        "lon": lon[good], "lat": lat[good],
        "grid_id": pd.array(np.where(grid_id[good] >= 0, grid_id[good], None), dtype="Int64"),
        "household_id": pd.array(np.where(household_id[good] >= 0, household_id[good], None), dtype="Int64"),
    })
    with transaction(session):
        session.execute(text("DROP TABLE IF EXISTS party_member_staging"))
        session.execute(text(STAGING_DDL))
        buffer = io.StringIO()
        rows.to_csv(buffer, index=False, header=False, na_rep="")
        buffer.seek(0)
        raw_cursor(session).copy_expert(
            "COPY party_member_staging (name, phone, branch, lon, lat, grid_id, household_id)"
            " FROM STDIN WITH (FORMAT csv)", buffer)
        progress("写入数据库", len(rows), len(rows))
        created, updated = session.execute(text(UPSERT_SQL)).one()
    inside = int((grid_id[good] >= 0).sum())
    return {
        "imported": int(created + updated), "created": int(created), "updated": int(updated),
        "assigned": inside, "outside_grids": int(len(rows) - inside),
        "errors": errors.as_list(), "error_count": errors.count,
    }
