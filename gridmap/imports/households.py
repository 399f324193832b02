"""Bulk household import: read the file a part at a time (a CSV in parts of a few megabytes:
memory does not grow with the file), validate each part's rows, convert the CRS, and hand
the good rows to gridmap.households.writes (binary COPY in the import's one transaction,
each row assigned to its grid by the in-memory twin of the assignment rule on the way).

All or nothing: the first bad row stops the write and rolls it back; the file is then read
again, writing nothing, to report every bad row. A code repeated across parts is found by
the database (nothing keeps the codes in memory): while writing, by household's unique code
and the writer's checks (gridmap.households.writes.DuplicateCode); when reporting, and
before writing with ``skip_errors``, by numbering every row's code in a temporary table.

Everything is vectorised: pandas/numpy checks per column, each distinct value of a
repeating column (tags, sizes, risk levels) parsed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from gridmap import pgcopy
from gridmap.auth.masking import normalise_tag
from gridmap.coordinates import declared_crs
from gridmap.db import transaction
from gridmap.errors import AppError, Conflict, Unprocessable
from gridmap.households.writes import DuplicateCode, HouseholdWriter
from gridmap.imports.common import (
    PartErrors,
    RowErrors,
    Upload,
    duplicated_mask,
    field_name,
    no_progress,
    per_distinct,
    pick_column,
    points,
    read_upload_parts,
    rejection,
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


# Every row's non-empty code with its file row; the second and later rows of a code.
ROW_CODES_DDL = "CREATE TEMP TABLE import_row_code (code text, file_row int) ON COMMIT DROP"
REPEATED_ROWS_SQL = """
SELECT file_row FROM (
    SELECT file_row, row_number() OVER (PARTITION BY code ORDER BY file_row) AS n FROM import_row_code
) numbered WHERE n > 1 ORDER BY file_row
"""


class _Rejected(Exception):
    """A bad row with skip_errors off: the write stops, and the file is read again to report."""


def _validate(upload: Upload, cols: dict[str, str | None], crs: str,
              repeated: np.ndarray | None) -> tuple[RowErrors, dict[str, Any]]:
    """One part's checks. ``repeated``: the file rows whose code came earlier in the file
    (None: look for repeats within this part only)."""
    frame = upload.columns
    errors = RowErrors(upload)
    name = {key: field_name(f) for key, f in FIELDS.items()}
    code = text_column(frame, cols["code"])
    errors.add((code == "").to_numpy(), name["code"], "missing_field", lambda i: {"field": name["code"]})
    errors.add(text_lengths(code) > 64, name["code"], "value_too_long",
               lambda i: {"field": name["code"], "limit": 64})
    duplicate = duplicated_mask(code) if repeated is None else np.isin(upload.file_rows, repeated)
    errors.add(duplicate, name["code"], "duplicate_code", lambda i: {"code": code.iat[i]})
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

    tags = per_distinct(text_column(frame, cols["tags"]), lambda distinct: distinct.map(_tag_list))
    values = {
        "code": code, "address": text_column(frame, cols["address"]), "lon": lon, "lat": lat,
        "size": size.where(~bad_size).astype("Int64"), "tags": tags, "risk_level": risk.fillna(""),
        "head_name": text_column(frame, cols["head_name"]), "phone": phone,
    }
    return errors, values


def _tag_list(cell: str) -> str:
    """A cell's tags, each in its one spelling (``normalise_tag``: a look-alike of a sensitive tag
    is that tag, and masked as one), '|'-joined in their order, each once."""
    return "|".join(dict.fromkeys(tag for part in re.split(TAG_SEPARATORS, cell) if (tag := normalise_tag(part))))


def _columns(upload: Upload) -> dict[str, str | None]:
    frame = upload.columns
    cols = {f: pick_column(frame, None, aliases) for f, aliases in ALIASES.items()}
    if cols["code"] is None:
        code = field_name("household_code")
        raise Unprocessable("missing_field", details={"field": code}, field=f"{code} / code")
    if not upload.spatial and (cols["lon"] is None or cols["lat"] is None):
        point = field_name("point")
        raise Unprocessable("missing_field", details={"field": point}, field=f"{point} (lon/lat)")
    return cols


def _repeated_rows(session: Session, parts: Iterator[Upload], code_column: str) -> np.ndarray:
    """The file rows whose code an earlier row has (all codes numbered in the database)."""
    pgcopy.temp_table(session, "import_row_code", ROW_CODES_DDL)
    for upload in parts:
        code = text_column(upload.columns, code_column).to_numpy()
        keep = code != ""
        pgcopy.copy(session, "import_row_code", {"code": pgcopy.text(code[keep]),
                                                 "file_row": pgcopy.int4(upload.file_rows[keep])})
    rows = np.array(session.scalars(text(REPEATED_ROWS_SQL)).all(), dtype=np.int64)
    session.execute(text("DROP TABLE import_row_code"))
    return rows


def _write(session: Session, parts: Iterator[Upload], cols: dict[str, str | None], crs: str, total: int,
           repeated: np.ndarray | None, progress: Progress) -> dict[str, Any]:
    """Validate and write part after part; a bad row stops it (``_Rejected``) unless
    ``repeated`` is given (skip_errors: the bad rows are left out)."""
    report = PartErrors()
    done = 0
    with HouseholdWriter(session, total, progress) as writer:
        for upload in parts:
            errors, values = _validate(upload, cols, crs, repeated)
            done += len(upload.columns)
            progress("validate", done, max(total, done))
            if errors.count and repeated is None:
                raise _Rejected()
            report.add(errors)
            writer.write(values, ~errors.bad, done)
        written = writer.finish()
    imported = written["created"] + written["updated"]
    return {
        "imported": imported, "created": written["created"], "updated": written["updated"],
        "assigned": written["assigned"], "outside_grids": imported - written["assigned"],
        "errors": report.listed, "error_count": report.count,
    }


def _report(session: Session, path: str, filename: str, cols: dict[str, str | None], crs: str) -> AppError:
    """Every bad row of the file (read again, nothing written), as the import's refusal; none
    (the database found a code twice that the file holds once): another writer's came in meanwhile."""
    report = PartErrors()
    try:
        repeated = _repeated_rows(session, read_upload_parts(path, filename), cols["code"])
    finally:
        session.rollback()
    for upload in read_upload_parts(path, filename):
        report.add(_validate(upload, cols, crs, repeated)[0])
    return rejection(report.count, report.listed) if report.count else Conflict("import_codes_concurrent")


def import_households(session: Session, path: str, filename: str, *, crs: str | None = None,
                      skip_errors: bool = False, progress: Progress = no_progress) -> dict[str, Any]:
    declared_crs(crs)  # a bad CRS is refused before the file is read
    parts = read_upload_parts(path, filename)
    first = next(parts)
    crs = declared_crs(first.crs(crs))
    cols = _columns(first)
    total = first.file_rows_about
    progress("validate", 0, total)
    try:
        with transaction(session):
            repeated = _repeated_rows(session, read_upload_parts(path, filename), cols["code"]) if skip_errors else None
            return _write(session, chain([first], parts), cols, crs, total, repeated, progress)
    except (_Rejected, DuplicateCode):
        if skip_errors:  # the file's repeats were left out: another writer's codes came in meanwhile
            raise Conflict("import_codes_concurrent") from None
    raise _report(session, path, filename, cols, crs)
