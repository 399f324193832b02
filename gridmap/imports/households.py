"""Bulk household import: read the file, validate every row, convert the CRS, then hand the
good rows to gridmap.households.writes (binary COPY, each row assigned to its grid by the
in-memory twin of the assignment rule on the way).

Everything is vectorised: pandas/numpy checks per column, each distinct value of a
repeating column (tags, sizes, risk levels) parsed once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from gridmap.coordinates import declared_crs
from gridmap.errors import Unprocessable
from gridmap.households.writes import write_households
from gridmap.imports.common import (
    RowErrors,
    duplicated_mask,
    field_name,
    no_progress,
    per_distinct,
    pick_column,
    points,
    read_upload,
    text_column,
    text_lengths,
)
from gridmap.labels import label
from gridmap.pgcopy import Progress

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
# A risk level as files write it → its code.
RISK_ALIASES = {"high": "high", "medium": "medium", "low": "low", "高": "high", "中": "medium", "低": "low",
                "高风险": "high", "中风险": "medium", "低风险": "low", "": ""}
RISK_CHOICES = ("high", "medium", "low")
TAG_SEPARATORS = r"[;；,，、|/\s]+"
# A household value's field (labels kind "field") in row errors.
FIELDS = {"code": "household_code", "address": "address", "lon": "lon", "lat": "lat", "head_name": "head_name",
          "phone": "phone", "size": "size", "tags": "tags", "risk_level": "risk_level"}


def _validate(frame: pd.DataFrame, upload, crs: str) -> tuple[RowErrors, dict[str, Any]]:
    cols = {f: pick_column(frame, None, aliases) for f, aliases in ALIASES.items()}
    errors = RowErrors(upload)
    name = {key: field_name(f) for key, f in FIELDS.items()}
    code = text_column(frame, cols["code"])
    errors.add((code == "").to_numpy(), name["code"], "missing_field", lambda i: {"field": name["code"]})
    errors.add(text_lengths(code) > 64, name["code"], "value_too_long",
               lambda i: {"field": name["code"], "limit": 64})
    errors.add(duplicated_mask(code), name["code"], "duplicate_code", lambda i: {"code": code.iat[i]})

    lon, lat = points(upload, cols["lon"], cols["lat"], crs, errors)

    size_text = text_column(frame, cols["size"])
    size = per_distinct(size_text, lambda distinct: pd.to_numeric(distinct, errors="coerce"))
    bad_size = (size_text != "") & ~(size.between(1, 99) & (size == size.round()))
    errors.add(bad_size.to_numpy(), name["size"], "integer_out_of_range",
               lambda i: {"field": name["size"], "low": 1, "high": 99, "value": size_text.iat[i]})

    risk_text = text_column(frame, cols["risk_level"])
    risk = per_distinct(risk_text, lambda distinct: distinct.str.lower().map(RISK_ALIASES))
    choices = "、".join(label(c, "risk_level") for c in RISK_CHOICES)
    errors.add(risk.isna().to_numpy(), name["risk_level"], "invalid_choice",
               lambda i: {"field": name["risk_level"], "value": risk_text.iat[i].lower(), "choices": choices})

    phone = text_column(frame, cols["phone"])
    errors.add(text_lengths(phone) > 32, name["phone"], "value_too_long",
               lambda i: {"field": name["phone"], "limit": 32})

    tags = per_distinct(text_column(frame, cols["tags"]),
                        lambda distinct: distinct.str.replace(TAG_SEPARATORS, "|", regex=True).str.strip("|"))
    values = {
        "code": code, "address": text_column(frame, cols["address"]), "lon": lon, "lat": lat,
        "size": size.where(~bad_size).astype("Int64"), "tags": tags, "risk_level": risk.fillna(""),
        "head_name": text_column(frame, cols["head_name"]), "phone": phone,
    }
    return errors, values


def import_households(session: Session, path: str, filename: str, *, crs: str | None = None,
                      skip_errors: bool = False, progress: Progress = no_progress) -> dict[str, Any]:
    declared_crs(crs)  # a bad CRS is refused before the file is read
    upload = read_upload(path, filename)
    crs = declared_crs(upload.crs(crs))
    frame = upload.columns
    if pick_column(frame, None, ALIASES["code"]) is None:
        code = field_name("household_code")
        raise Unprocessable("missing_field", details={"field": code}, field=f"{code} / code")
    if not upload.spatial and (pick_column(frame, None, ALIASES["lon"]) is None
                               or pick_column(frame, None, ALIASES["lat"]) is None):
        point = field_name("point")
        raise Unprocessable("missing_field", details={"field": point}, field=f"{point} (lon/lat)")
    progress("validate", 0, len(frame))
    errors, values = _validate(frame, upload, crs)
    progress("validate", len(frame), len(frame))
    errors.reject_unless(skip_errors)

    good = ~errors.bad
    written = write_households(session, values, good, progress)
    imported = written["created"] + written["updated"]
    return {
        "imported": imported, "created": written["created"], "updated": written["updated"],
        "assigned": written["assigned"], "outside_grids": imported - written["assigned"],
        "errors": errors.as_list(), "error_count": errors.count,
    }
