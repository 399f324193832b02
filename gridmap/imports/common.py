"""What every file import shares: reading the upload, column aliases, row errors,
and the all-or-nothing rule (``on_error=skip`` imports the good rows instead)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridmap.errors import Unprocessable
from gridmap.geo.crs import to_wgs84
from gridmap.geo.io import (
    FileFormatError,
    FileReadError,
    detect_format,
    read_features,
    read_table,
    read_table_parts,
)
from gridmap.geo.validate import check_points
from gridmap.labels import label
from gridmap.messages import message

# A file with more bad rows than this still reports the count, but lists only these.
MAX_LISTED_ERRORS = 10_000

FEATURE_FORMATS = {"geojson", "gpkg", "shapefile_zip", "kml"}


def no_progress(stage: str, done: int, total: int) -> None:
    return None


def field_name(field_code: str) -> str:
    """An input field as a person calls it in row errors (labels kind "field")."""
    return label(field_code, "field")


@dataclass
class Upload:
    """A file's rows as string columns (positionally indexed) plus, for spatial formats,
    its geometries and the CRS the file itself declares."""

    columns: pd.DataFrame
    file_rows: np.ndarray  # per row, the number a person sees: spreadsheet row or 1-based feature
    geometries: np.ndarray | None = None  # shapely geometries (None where unreadable)
    geometry_problems: np.ndarray | None = None
    file_crs: str | None = None
    spatial: bool = False
    file_rows_about: int = 0  # read in parts: about how many rows the whole file holds (else this part's)

    def __post_init__(self) -> None:
        self.file_rows_about = self.file_rows_about or len(self.columns)

    def row_label(self) -> str:
        return "feature" if self.spatial else "row"

    def crs(self, declared: str | None) -> str | None:
        """The caller's CRS when given, else the file's own (a .prj, a GeoPackage's SRS)."""
        return declared or self.file_crs


def _storable_text(frame: pd.DataFrame) -> pd.DataFrame:
    """PostgreSQL text cannot hold NUL characters; files from old systems sometimes do. Nor can
    UTF-8 hold an unpaired surrogate (a JSON file's lone ``\\ud800``): it becomes U+FFFD."""
    def clean(column: pd.Series) -> pd.Series:
        if column.dtype != object:
            return column
        return column.str.replace("\x00", "", regex=False).str.replace("[\ud800-\udfff]", "\ufffd", regex=True)
    return frame.apply(clean)


def read_upload(path: str, filename: str) -> Upload:
    try:
        fmt = detect_format(filename)
        if fmt in FEATURE_FORMATS:
            table = read_features(path, filename)
            n = len(table.properties)
            return Upload(_storable_text(table.properties).reset_index(drop=True), np.arange(1, n + 1), table.geometries,
                          table.problems, table.crs, spatial=True)
        frame = read_table(path, filename)
        rows = frame.index.to_numpy() + frame.attrs.get("header_row", 1) + 1
        if fmt != "csv" or _lines(path)[1]:  # a CSV is checked by a fast byte scan first
            frame = _storable_text(frame)
        return Upload(frame.reset_index(drop=True), rows)
    except (FileFormatError, FileReadError) as error:
        raise Unprocessable(error.code, details={"filename": filename}, **error.params) from None


def _lines(path: str) -> tuple[int, bool]:
    """Line ends in the file, and whether it holds a NUL byte (one fast byte scan)."""
    lines, nul = 0, False
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            lines += block.count(b"\n")
            nul = nul or b"\x00" in block
    return lines, nul


def read_upload_parts(path: str, filename: str) -> Iterator[Upload]:
    """``read_upload`` a part at a time: a CSV in parts of a few megabytes (never whole in
    memory), any other format as one part. Row numbers are the file's, as ``read_upload``'s."""
    try:
        if detect_format(filename) != "csv":
            yield read_upload(path, filename)
            return
        lines, nul = _lines(path)
        for frame in read_table_parts(path, filename):
            rows = frame.index.to_numpy() + frame.attrs.get("header_row", 1) + 1
            frame = _storable_text(frame) if nul else frame
            yield Upload(frame.reset_index(drop=True), rows, file_rows_about=max(lines - 1, len(frame)))
    except (FileFormatError, FileReadError) as error:
        raise Unprocessable(error.code, details={"filename": filename}, **error.params) from None


def pick_column(frame: pd.DataFrame, explicit: str | None, aliases: Iterable[str]) -> str | None:
    """The column to use for a field: the one the caller named, else the first alias present."""
    if explicit:
        if explicit not in frame.columns:
            # Offer the names as read (a Shapefile's cut at 10 bytes, say), so the caller can pick one.
            available = [str(c) for c in frame.columns]
            raise Unprocessable("unknown_field", details={"field": explicit, "available": available},
                                field=explicit, available="、".join(available))
        return explicit
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    for alias in aliases:
        if alias.lower() in lowered:
            return lowered[alias.lower()]
    return None


@dataclass
class RowErrors:
    """Bad rows found by vectorised checks: a mask per row plus one message each."""

    upload: Upload
    bad: np.ndarray = field(init=False)
    entries: list[tuple[int, str, str]] = field(default_factory=list)  # (index, field, message)

    def __post_init__(self) -> None:
        self.bad = np.zeros(len(self.upload.columns), dtype=bool)

    def add(self, mask: np.ndarray, field_name: str, code: str, params: Callable[[int], dict[str, Any]] | None = None) -> None:
        """Flag rows where ``mask`` is true (and not already bad) with one message each."""
        new = np.flatnonzero(mask & ~self.bad)
        for i in new[:MAX_LISTED_ERRORS]:
            self.entries.append((int(i), field_name, message(code, **(params(int(i)) if params else {}))))
        self.bad[new] = True

    def add_problems(self, problems: np.ndarray, field_name: str) -> None:
        """Flag rows whose entry in ``problems`` is a geo Problem (None means fine)."""
        has = np.array([p is not None for p in problems], dtype=bool) if len(problems) else np.zeros(0, bool)
        new = np.flatnonzero(has & ~self.bad)
        for i in new[:MAX_LISTED_ERRORS]:
            problem = problems[i]
            self.entries.append((int(i), field_name, message(problem.code, **problem.params)))
        self.bad[new] = True

    @property
    def count(self) -> int:
        return int(self.bad.sum())

    def as_list(self) -> list[dict[str, Any]]:
        label = self.upload.row_label()
        numbers = self.upload.file_rows[np.array([e[0] for e in self.entries], dtype=int)]
        rows = sorted(zip(numbers.tolist(), self.entries), key=lambda item: item[0])
        return [{label: n, "field": f, "message": m} for n, (_, f, m) in rows[:MAX_LISTED_ERRORS]]

    def reject_unless(self, skip: bool) -> None:
        """All or nothing: any bad row rejects the whole file unless the caller asked to skip."""
        if self.count and not skip:
            raise rejection(self.count, self.as_list())


def rejection(count: int, errors: list[dict[str, Any]]) -> Unprocessable:
    return Unprocessable("import_rejected", count=count, details={"errors": errors, "error_count": count})


@dataclass
class PartErrors:
    """Row errors of a file read in parts (in file order): their count, and the first
    MAX_LISTED_ERRORS by row — the same list RowErrors gives for the whole file."""

    count: int = 0
    listed: list[dict[str, Any]] = field(default_factory=list)

    def add(self, errors: RowErrors) -> None:
        self.count += errors.count
        room = MAX_LISTED_ERRORS - len(self.listed)
        if errors.count and room > 0:
            self.listed += errors.as_list()[:room]


def text_column(frame: pd.DataFrame, name: str | None) -> pd.Series:
    """A column as stripped strings ("" where empty); all "" when the file lacks it."""
    if name is None:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    values = frame[name].to_numpy()
    # read_table gives strings only; anything else (None, a number) is made text, not a crash
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = frame[name].fillna("").astype(str).to_numpy()
    # str.strip mapped in C over the array: a quarter of the time of Series.str.strip.
    return pd.Series(np.fromiter(map(str.strip, values), dtype=object, count=len(values)), index=frame.index)


def text_lengths(values: pd.Series) -> np.ndarray:
    """Characters per string, counted in C (Series.str.len goes through a Python lambda)."""
    return np.fromiter(map(len, values.to_numpy()), dtype=np.int64, count=len(values))


def per_distinct(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform(values)`` computed once per distinct value: columns such as tags, sizes
    and risk levels repeat a handful of values across a million rows."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)  # a missing value is a value too
    return pd.Series(transform(pd.Series(distinct, dtype=object)).to_numpy()[codes], index=values.index)


def points(upload: Upload, lon_column: str | None, lat_column: str | None, crs: str,
           errors: RowErrors) -> tuple[np.ndarray, np.ndarray]:
    """Each row's point in WGS-84: a point layer's geometry, or the lon/lat columns.

    Flags rows with no point, a non-point geometry, non-numbers, and (after the CRS
    conversion) swapped, out-of-range or outside-China coordinates.
    """
    if upload.spatial:
        geoms = upload.geometries
        errors.add_problems(upload.geometry_problems, "geometry")
        is_point = shapely.get_type_id(geoms) == 0
        lon_raw = np.where(is_point, shapely.get_x(geoms), np.nan)
        lat_raw = np.where(is_point, shapely.get_y(geoms), np.nan)
        errors.add(~is_point, "geometry", "geometry_wrong_type",
                   lambda i: {"expected": "Point", "actual": getattr(geoms[i], "geom_type", message("no_geometry"))})
    else:
        frame = upload.columns
        lon_text, lat_text = text_column(frame, lon_column), text_column(frame, lat_column)
        errors.add(((lon_text == "") | (lat_text == "")).to_numpy(), field_name("point"), "coordinate_missing")
        lon_raw = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=float)
        lat_raw = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=float)
        errors.add(np.isnan(lon_raw) | np.isnan(lat_raw), field_name("point"), "coordinate_not_number")
    lon, lat = to_wgs84(lon_raw, lat_raw, crs)
    errors.add_problems(np.where(errors.bad, None, check_points(lon, lat)), field_name("point"))
    return lon, lat


def duplicated_mask(values: pd.Series) -> np.ndarray:
    """True for the second and later occurrences of a non-empty value."""
    return (values.duplicated(keep="first") & (values != "")).to_numpy()
