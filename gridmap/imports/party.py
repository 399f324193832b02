"""Bulk party-member import (CSV/XLSX): 姓名, 电话, 支部, and either 经度/纬度 (in the
declared CRS) or the 户号 of the household the member lives in.

The same rules as the household import (gridmap.imports.households): every row is
checked with vectorised pandas/numpy, all or nothing unless ``skip_errors``, members
placed by coordinates go to the covering grid (the in-memory assignment rule of
gridmap.households.assignment, smallest code on a border), members placed at a household
take its point and grid. gridmap.party.writes upserts the good rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.coordinates import declared_crs
from gridmap.errors import Unprocessable
from gridmap.geo.crs import to_wgs84
from gridmap.geo.validate import check_points
from gridmap.households.assignment import assign_points, load_grid_polygons
from gridmap.imports.common import (
    RowErrors,
    duplicated_mask,
    field_name,
    no_progress,
    pick_column,
    read_upload,
    text_column,
    text_lengths,
)
from gridmap.party.writes import write_party_members
from gridmap.pgcopy import Progress

ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "姓名", "党员姓名"),
    "phone": ("phone", "电话", "联系电话", "手机", "手机号"),
    "branch": ("branch", "支部", "党支部", "所在支部"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "household_code": ("household_code", "户号", "住户户号"),
}

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
    name_field, phone_field, point_field = field_name("member_name"), field_name("phone"), field_name("point")
    code_field = field_name("household_code")
    if cols["name"] is None:
        raise Unprocessable("missing_field", details={"field": name_field}, field=f"{name_field} / name")
    if cols["household_code"] is None and (cols["lon"] is None or cols["lat"] is None):
        raise Unprocessable("missing_field", details={"field": point_field}, field=field_name("point_or_household"))
    n = len(frame)
    progress("validate", 0, n)
    errors = RowErrors(upload)
    name, phone, branch = text_column(frame, cols["name"]), text_column(frame, cols["phone"]), text_column(frame, cols["branch"])
    household_code = text_column(frame, cols["household_code"])
    errors.add((name == "").to_numpy(), name_field, "missing_field", lambda i: {"field": name_field})
    errors.add(text_lengths(name) > 64, name_field, "value_too_long", lambda i: {"field": name_field, "limit": 64})
    errors.add(text_lengths(phone) > 32, phone_field, "value_too_long", lambda i: {"field": phone_field, "limit": 32})
    key = (name + "|" + phone).where(phone != "", "")
    errors.add(duplicated_mask(key), name_field, "duplicate_code", lambda i: {"code": f"{name.iat[i]} {phone.iat[i]}"})

    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    grid_id = np.full(n, -1, dtype=np.int64)
    household_id = np.full(n, -1, dtype=np.int64)

    at_household = (household_code != "").to_numpy()
    if at_household.any():
        found = _households(session, sorted(set(household_code[at_household])))
        known = household_code.isin(found.index).to_numpy()
        errors.add(at_household & ~known, code_field, "household_not_found", lambda i: {"code": household_code.iat[i]})
        ok = at_household & known
        rows = found.loc[household_code[ok]]
        lon[ok], lat[ok] = rows["lon"].to_numpy(), rows["lat"].to_numpy()
        household_id[ok] = rows["id"].to_numpy()
        grid_id[ok] = rows["grid_id"].fillna(-1).astype(np.int64).to_numpy()

    by_point = ~at_household
    if by_point.any():
        lon_text, lat_text = text_column(frame, cols["lon"]), text_column(frame, cols["lat"])
        missing = by_point & ((lon_text == "") | (lat_text == "")).to_numpy()
        errors.add(missing, point_field, "coordinate_missing")
        lon_raw = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=float)
        lat_raw = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=float)
        errors.add(by_point & (np.isnan(lon_raw) | np.isnan(lat_raw)), point_field, "coordinate_not_number")
        x, y = to_wgs84(lon_raw, lat_raw, crs)
        problems = check_points(x, y)
        errors.add_problems(np.where(by_point & ~errors.bad, problems, None), point_field)
        ok = by_point & ~errors.bad
        lon[ok], lat[ok] = x[ok], y[ok]
        ids, polygons = load_grid_polygons(session)
        grid_id[ok] = assign_points(lon[ok], lat[ok], ids, polygons)
    progress("validate", n, n)
    errors.reject_unless(skip_errors)

    good = ~errors.bad
    created, updated = write_party_members(
        session, name[good].to_numpy(), phone[good].to_numpy(), branch[good].to_numpy(), lon[good], lat[good],
        grid_id[good], household_id[good])
    progress("write", int(good.sum()), int(good.sum()))
    inside = int((grid_id[good] >= 0).sum())
    return {
        "imported": created + updated, "created": created, "updated": updated,
        "assigned": inside, "outside_grids": int(good.sum()) - inside,
        "errors": errors.as_list(), "error_count": errors.count,
    }
