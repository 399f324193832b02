"""Bulk key-place import (重点场所): CSV/XLSX with 名称, 类型, 经度, 纬度, 地址, 说明, or a
point layer (GeoJSON, GeoPackage, zipped Shapefile, KML) with 名称/类型/地址/说明 properties.

The same rules as the other imports (gridmap.imports.households): vectorised checks,
all or nothing unless ``skip_errors``, each place goes to the grid that covers its point
(the in-memory assignment rule of gridmap.households.assignment, smallest code on a
border) and must be inside the caller's scope; gridmap.places.writes upserts the good rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
from gridmap.coordinates import declared_crs
from gridmap.errors import Unprocessable
from gridmap.households.assignment import assign_points, load_grid_polygons
from gridmap.imports.common import (
    RowErrors,
    duplicated_mask,
    field_name,
    no_progress,
    pick_column,
    points,
    read_upload,
    text_column,
    text_lengths,
)
from gridmap.pgcopy import Progress
from gridmap.places.service import kind_choices, kind_code
from gridmap.places.writes import OPTIONAL, write_key_places

ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "场所名称", "场所"),
    "kind": ("kind", "type", "类型", "场所类型", "类别"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "address": ("address", "地址"),
    "note": ("note", "说明", "备注"),
}

def import_key_places(session: Session, path: str, filename: str, *, scope: Scope | None = None,
                      crs: str | None = None, skip_errors: bool = False,
                      progress: Progress = no_progress) -> dict[str, Any]:
    scope = scope or Scope.everything()
    declared_crs(crs)
    upload = read_upload(path, filename)
    crs = declared_crs(upload.crs(crs))
    frame = upload.columns
    cols = {key: pick_column(frame, None, aliases) for key, aliases in ALIASES.items()}
    name_field, kind_field, point_field = field_name("place_name"), field_name("place_kind"), field_name("point")
    for key, shown in (("name", name_field), ("kind", kind_field)):
        if cols[key] is None:
            raise Unprocessable("missing_field", details={"field": shown}, field=shown)
    if not upload.spatial and (cols["lon"] is None or cols["lat"] is None):
        raise Unprocessable("missing_field", details={"field": point_field}, field=point_field)
    n = len(frame)
    progress("validate", 0, n)
    errors = RowErrors(upload)
    name, kind_text = text_column(frame, cols["name"]), text_column(frame, cols["kind"])
    address, note = text_column(frame, cols["address"]), text_column(frame, cols["note"])
    errors.add((name == "").to_numpy(), name_field, "missing_field", lambda i: {"field": name_field})
    errors.add(text_lengths(name) > 128, name_field, "value_too_long", lambda i: {"field": name_field, "limit": 128})
    kind = kind_text.map(kind_code)
    errors.add(kind.isna().to_numpy(), kind_field, "invalid_choice",
               lambda i: {"field": kind_field, "value": kind_text.iat[i], "choices": kind_choices()})

    lon, lat = points(upload, cols["lon"], cols["lat"], crs, errors)

    grid_id = np.full(n, -1, dtype=np.int64)
    ok = ~errors.bad
    ids, polygons = load_grid_polygons(session)
    grid_id[ok] = assign_points(lon[ok], lat[ok], ids, polygons)
    errors.add(ok & (grid_id < 0), point_field, "key_place_outside_grids")
    codes = dict(session.execute(text("SELECT id, code FROM grid WHERE id = ANY(:ids)"),
                                 {"ids": sorted({int(g) for g in grid_id if g >= 0})}).all())
    grid_code = pd.Series([codes.get(int(g), "") for g in grid_id], dtype=object)
    outside = (grid_code != "") & ~grid_code.map(scope.covers)
    errors.add(outside.to_numpy(), point_field, "key_place_out_of_scope", lambda i: {"code": grid_code.iat[i]})
    key = (grid_code + "|" + kind.fillna("") + "|" + name).where(~errors.bad, "")
    errors.add(duplicated_mask(key), name_field, "duplicate_code", lambda i: {"code": f"{kind_text.iat[i]} {name.iat[i]}"})
    progress("validate", n, n)
    errors.reject_unless(skip_errors)

    good = ~errors.bad
    created, updated = write_key_places(
        session, grid_id[good], name[good].to_numpy(), kind[good].to_numpy(), lon[good], lat[good],
        address[good].to_numpy(), note[good].to_numpy(), given=tuple(c for c in OPTIONAL if cols[c] is not None))
    progress("write", int(good.sum()), int(good.sum()))
    return {"imported": created + updated, "created": created, "updated": updated,
            "errors": errors.as_list(), "error_count": errors.count}
