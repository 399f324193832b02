"""Import admin units (district, street, community) or grids from a file.

Codes follow the statistical division code: district 6 digits, street 9,
community 12, grid = community code + 3 digits (gridmap.areas.codes). Padded 12-digit
forms (``331102000000``) are accepted and stored in their significant form; a code of
any other length is a row error, so a code prefix is always a whole area. Re-importing
a code updates it (gridmap.areas.writes); a grid whose boundary changes gets a new version
and the households it touches are re-assigned in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap.areas.codes import LEVEL_LENGTHS
from gridmap.areas.writes import write_grids, write_units
from gridmap.auth.scope import Scope
from gridmap.coordinates import declared_crs
from gridmap.db import transaction
from gridmap.errors import Unprocessable
from gridmap.geo.crs import geometry_to_wgs84
from gridmap.geo.validate import BOUNDARY_TOLERANCE_M, as_multipolygon, check_polygons
from gridmap.households.assignment import assign_near_grids
from gridmap.imports.common import RowErrors, duplicated_mask, field_name, no_progress, pick_column, read_upload
from gridmap.labels import label
from gridmap.messages import message
from gridmap.pgcopy import Progress

LEVELS = ("district", "street", "community", "grid")
PARENT_LEVEL = {"street": "district", "community": "street", "grid": "community"}
PARENT_LENGTH = {"street": 6, "community": 9, "grid": 12}
CODE_ALIASES = ("code", "编码", "区划代码", "统计用区划代码", "网格编码")
NAME_ALIASES = ("name", "名称", "网格名称")
PARENT_ALIASES = ("parent", "parent_code", "上级编码", "上级区划代码", "社区编码")
GEOMETRY_ALIASES = ("wkt", "geometry", "geom", "几何", "边界")
KIND_ALIASES = ("kind", "类型")
OUT_OF_AREA_ALIASES = {"out_of_area", "域外", "域外网格"}


@dataclass(frozen=True)
class AreaImportOptions:
    level: str
    crs: str | None = None
    code_field: str | None = None
    name_field: str | None = None
    parent_field: str | None = None
    skip_errors: bool = False


def normalize_codes(codes: pd.Series, level: str) -> pd.Series:
    """Strip the zero padding of 12-digit official codes down to the level's length."""
    length = LEVEL_LENGTHS[level]
    if length >= 12:
        return codes
    padded = (codes.str.len() == 12) & codes.str[length:].str.fullmatch("0+")
    return codes.where(~padded, codes.str[:length])


def _valid_code_mask(codes: pd.Series, level: str) -> np.ndarray:
    pattern = f"[0-9]{{{LEVEL_LENGTHS[level]}}}"
    return codes.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def _read_geometries(upload, frame: pd.DataFrame, errors: RowErrors) -> np.ndarray:
    if upload.spatial:
        errors.add_problems(upload.geometry_problems, "geometry")
        return upload.geometries
    column = pick_column(frame, None, GEOMETRY_ALIASES)
    if column is None:
        return np.full(len(frame), None, dtype=object)
    raw = frame[column].fillna("").astype(str).str.strip()
    is_json = raw.str.startswith("{").to_numpy()
    geoms = np.full(len(frame), None, dtype=object)
    wkt_rows = (~is_json) & (raw != "").to_numpy()
    geoms[wkt_rows] = shapely.from_wkt(raw[wkt_rows].to_numpy(), on_invalid="ignore")
    if is_json.any():
        geoms[is_json] = shapely.from_geojson(raw[is_json].to_numpy(), on_invalid="ignore")
    unreadable = (raw != "").to_numpy() & np.array([g is None for g in geoms])
    errors.add(unreadable, column, "geometry_unreadable", lambda i: {"reason": message("geometry_text_malformed")})
    return geoms


def _existing_parents(session: Session, level: str, codes: list[str]) -> set[str]:
    if level == "grid":
        sql = "SELECT code FROM admin_unit WHERE level = 'community' AND code = ANY(:codes)"
    else:
        sql = "SELECT code FROM admin_unit WHERE level = :level AND code = ANY(:codes)"
    return set(session.scalars(text(sql), {"codes": codes, "level": PARENT_LEVEL.get(level, "")}))


def _validate(session: Session, upload, options: AreaImportOptions, crs: str, scope: Scope):
    frame = upload.columns
    level = options.level
    code_col = pick_column(frame, options.code_field, CODE_ALIASES)
    name_col = pick_column(frame, options.name_field, NAME_ALIASES)
    if code_col is None:
        raise Unprocessable("missing_field", details={"field": "code"}, field=f"{field_name('area_code')} / code")
    if name_col is None:
        raise Unprocessable("missing_field", details={"field": "name"}, field=f"{field_name('area_name')} / name")
    parent_col = pick_column(frame, options.parent_field, PARENT_ALIASES)
    kind_col = pick_column(frame, None, KIND_ALIASES)
    errors = RowErrors(upload)

    def column(name: str | None) -> pd.Series:
        if name is None:
            return pd.Series([""] * len(frame), dtype=object)
        return frame[name].fillna("").astype(str).str.strip()

    codes = normalize_codes(column(code_col), level)
    names = column(name_col)
    errors.add((codes == "").to_numpy(), code_col, "missing_field", lambda i: {"field": code_col})
    errors.add(~_valid_code_mask(codes, level), code_col, "invalid_code", lambda i: {
        "code": codes.iat[i], "level": label(level, "level"), "rule": label(level, "code_rule")})
    errors.add(duplicated_mask(codes), code_col, "duplicate_code", lambda i: {"code": codes.iat[i]})
    errors.add(~codes.str.startswith(scope.prefix).to_numpy(dtype=bool), code_col, "out_of_scope",
               lambda i: {"code": codes.iat[i]})
    errors.add((names == "").to_numpy(), name_col, "missing_field", lambda i: {"field": name_col})

    parents = pd.Series([None] * len(frame), dtype=object)
    if level in PARENT_LEVEL:
        derived = codes.str[:PARENT_LENGTH[level]]
        if parent_col is not None:
            given = normalize_codes(column(parent_col), PARENT_LEVEL[level])
            mismatch = ((given != "") & (given != derived)).to_numpy()
            errors.add(mismatch, parent_col, "parent_mismatch", lambda i: {"code": codes.iat[i], "parent": given.iat[i]})
        known = _existing_parents(session, level, sorted(set(derived[~errors.bad].tolist())))
        errors.add(~derived.isin(known).to_numpy(), parent_col or code_col, "unknown_parent",
                   lambda i: {"parent": derived.iat[i]})
        parents = derived

    kinds = np.where(column(kind_col).str.lower().isin(OUT_OF_AREA_ALIASES).to_numpy(), "out_of_area", "map")
    geoms = _read_geometries(upload, frame, errors)
    has_geom = np.array([g is not None for g in geoms], dtype=bool)
    if level == "grid":
        errors.add((~has_geom) & (kinds == "map"), "geometry", "geometry_missing")
    wgs = np.full(len(frame), None, dtype=object)
    ok = has_geom & ~errors.bad
    if ok.any():
        wgs[ok] = geometry_to_wgs84(np.asarray(geoms[ok], dtype=object), crs)
        problems = np.full(len(frame), None, dtype=object)
        problems[ok] = check_polygons(np.asarray(wgs[ok], dtype=object))
        errors.add_problems(problems, "geometry")
    multi = np.full(len(frame), None, dtype=object)
    valid = has_geom & ~errors.bad
    if valid.any():
        multi[valid] = as_multipolygon(np.asarray(wgs[valid], dtype=object))
    # An out-of-area grid (域外) stands for residents living elsewhere and takes no households:
    # its boundary, if any, is not the importer's land.
    on_map = valid & (kinds == "map")
    if scope.prefix and on_map.any():
        errors.add(_outside_scope_area(session, scope.prefix, multi, on_map), "geometry", "geometry_out_of_scope",
                   lambda i: {"code": codes.iat[i], "scope": scope.prefix, "metres": int(BOUNDARY_TOLERANCE_M)})
    return errors, codes, names, parents, kinds, multi


# One row per boundary; none when the importer's area has no boundary to check against. The
# area: the importer's own unit or grid, or — for a scope such as a city's prefix, which is no
# stored unit — the union of the highest stored units under it that have a boundary.
_WITHIN_AREA_SQL = text("""
WITH under AS (
    SELECT code, geom FROM admin_unit WHERE starts_with(code, :prefix) AND geom IS NOT NULL
    UNION ALL
    SELECT code, geom FROM grid WHERE code = :prefix AND geom IS NOT NULL
), a AS MATERIALIZED (  -- buffered once, not once per row
    SELECT ST_Buffer(ST_Union(geom)::geography, :tolerance)::geometry AS area FROM under
     WHERE length(code) = (SELECT min(length(code)) FROM under)
    HAVING count(*) > 0)
SELECT ST_CoveredBy(ST_GeomFromEWKB(g.wkb), a.area)
FROM unnest(CAST(:wkbs AS bytea[])) WITH ORDINALITY AS g(wkb, n) CROSS JOIN a
ORDER BY g.n
""")


def _outside_scope_area(session: Session, prefix: str, geoms: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Rows whose boundary leaves the importer's own area by more than BOUNDARY_TOLERANCE_M (a code
    in scope is not enough: the boundary decides which households a grid takes). A 422 when that
    area has no boundary yet to check against."""
    wkbs = list(shapely.to_wkb(shapely.set_srid(geoms[valid], 4326), include_srid=True))
    inside = session.scalars(_WITHIN_AREA_SQL, {"wkbs": wkbs, "prefix": prefix,
                                                "tolerance": BOUNDARY_TOLERANCE_M}).all()
    if not inside:
        raise Unprocessable("scope_area_without_boundary", scope=prefix)
    outside = np.zeros(len(geoms), dtype=bool)
    outside[np.flatnonzero(valid)] = ~np.array(inside, dtype=bool)
    return outside


def import_areas(session: Session, path: str, filename: str, options: AreaImportOptions,
                 scope: Scope | None = None, progress: Progress = no_progress) -> dict[str, Any]:
    """Validate every row, then write all of them (or, with skip_errors, the good ones)."""
    if options.level not in LEVELS:
        raise Unprocessable("invalid_level", details={"level": options.level})
    scope = scope or Scope.everything()
    upload = read_upload(path, filename)
    crs = declared_crs(upload.crs(options.crs))
    total = len(upload.columns)
    progress("validate", 0, total)
    errors, codes, names, parents, kinds, geoms = _validate(session, upload, options, crs, scope)
    progress("validate", total, total)
    errors.reject_unless(options.skip_errors)

    good = ~errors.bad
    rows = (codes[good].to_numpy(), names[good].to_numpy(), parents[good].fillna("").to_numpy(), kinds[good],
            geoms[good])
    result: dict[str, Any] = {"created": 0, "updated": 0}
    with transaction(session):
        if options.level == "grid":
            created, updated, changed = write_grids(session, *rows,
                                                    reason=message("grid_import_reason", filename=filename))
            moved = assign_near_grids(session, changed)
            result["households"] = moved.as_dict()
        else:
            created, updated = write_units(session, options.level, *rows)
        progress("write", int(good.sum()), int(good.sum()))
        result.update(created=created, updated=updated)
    result["errors"] = errors.as_list()
    result["error_count"] = errors.count
    return result
