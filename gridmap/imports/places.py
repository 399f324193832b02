"""Bulk key-place import (重点场所): CSV/XLSX with 名称, 类型, 经度, 纬度, 地址, 说明, or a
point layer (GeoJSON, GeoPackage, zipped Shapefile, KML) with 名称/类型/地址/说明 properties.

The same rules as the other imports (gridmap.imports.households): vectorised checks,
all or nothing unless ``skip_errors``, each place goes to the grid that covers its point
(the shared STRtree rule, smallest code on a border) and must be inside the caller's
scope; rows go through COPY into a staging table and one upsert: a place with the same
grid, type and name is updated, any other is created.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.auth.scope import Scope
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
    text_lengths,
)
from gridmap.imports.households import assign_points, load_grid_polygons
from gridmap.places.service import kind_choices, kind_code

ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "场所名称", "场所"),
    "kind": ("kind", "type", "类型", "场所类型", "类别"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "address": ("address", "地址"),
    "note": ("note", "说明", "备注"),
}

STAGING_DDL = """
CREATE TEMP TABLE key_place_staging (
    grid_id int, name text, kind text, lon float8, lat float8, address text, note text
) ON COMMIT DROP
"""

UPSERT_SQL = """
WITH upserted AS (
    INSERT INTO key_place (grid_id, name, kind, geom, address, note)
    SELECT grid_id, name, kind, ST_SetSRID(ST_MakePoint(lon, lat), 4326), address, note FROM key_place_staging
    ON CONFLICT (grid_id, kind, name) DO UPDATE
        SET geom = EXCLUDED.geom, address = EXCLUDED.address, note = EXCLUDED.note, updated_at = now()
    RETURNING (xmax = 0) AS created
)
SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created) FROM upserted
"""


def import_key_places(session: Session, path: str, filename: str, *, scope: Scope | None = None,
                      crs: str | None = None, skip_errors: bool = False,
                      progress: Progress = no_progress) -> dict[str, Any]:
    scope = scope or Scope.everything()
    declared_crs(crs)
    upload = read_upload(path, filename)
    crs = declared_crs(upload.crs(crs))
    frame = upload.columns
    cols = {key: pick_column(frame, None, aliases) for key, aliases in ALIASES.items()}
    for key, label in (("name", "名称"), ("kind", "类型")):
        if cols[key] is None:
            raise Unprocessable("missing_field", details={"field": label}, field=label)
    if not upload.spatial and (cols["lon"] is None or cols["lat"] is None):
        raise Unprocessable("missing_field", details={"field": "经度/纬度"}, field="经度/纬度")
    n = len(frame)
    progress("校验", 0, n)
    errors = RowErrors(upload)
    name, kind_text = text_column(frame, cols["name"]), text_column(frame, cols["kind"])
    address, note = text_column(frame, cols["address"]), text_column(frame, cols["note"])
    errors.add((name == "").to_numpy(), "名称", "missing_field", lambda i: {"field": "名称"})
    errors.add(text_lengths(name) > 128, "名称", "value_too_long", lambda i: {"field": "名称", "limit": 128})
    kind = kind_text.map(kind_code)
    errors.add(kind.isna().to_numpy(), "类型", "invalid_choice",
               lambda i: {"field": "类型", "value": kind_text.iat[i], "choices": kind_choices()})

    lon, lat = points(upload, cols["lon"], cols["lat"], crs, errors)

    grid_id = np.full(n, -1, dtype=np.int64)
    ok = ~errors.bad
    ids, polygons = load_grid_polygons(session)
    grid_id[ok] = assign_points(lon[ok], lat[ok], ids, polygons)
    errors.add(ok & (grid_id < 0), "经度/纬度", "key_place_outside_grids")
    codes = dict(session.execute(text("SELECT id, code FROM grid WHERE id = ANY(:ids)"),
                                 {"ids": sorted({int(g) for g in grid_id if g >= 0})}).all())
    grid_code = pd.Series([codes.get(int(g), "") for g in grid_id], dtype=object)
    outside = (grid_code != "") & ~grid_code.map(scope.covers)
    errors.add(outside.to_numpy(), "经度/纬度", "key_place_out_of_scope", lambda i: {"code": grid_code.iat[i]})
    key = (grid_code + "|" + kind.fillna("") + "|" + name).where(~errors.bad, "")
    errors.add(duplicated_mask(key), "名称", "duplicate_code", lambda i: {"code": f"{kind_text.iat[i]} {name.iat[i]}"})
    progress("校验", n, n)
    errors.reject_unless(skip_errors)

    good = ~errors.bad
    rows = pd.DataFrame({
        "grid_id": grid_id[good], "name": name[good].to_numpy(), "kind": kind[good].to_numpy(),
        "lon": lon[good], "lat": lat[good], "address": address[good].to_numpy(), "note": note[good].to_numpy(),
    })
    with transaction(session):
        session.execute(text("DROP TABLE IF EXISTS key_place_staging"))
        session.execute(text(STAGING_DDL))
        buffer = io.StringIO()
        rows.to_csv(buffer, index=False, header=False)
        buffer.seek(0)
        raw_cursor(session).copy_expert(
            "COPY key_place_staging (grid_id, name, kind, lon, lat, address, note)"
            " FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL (address, note))", buffer)
        progress("写入数据库", len(rows), len(rows))
        created, updated = session.execute(text(UPSERT_SQL)).one()
    return {"imported": int(created + updated), "created": int(created), "updated": int(updated),
            "errors": errors.as_list(), "error_count": errors.count}
