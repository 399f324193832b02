"""Read uploaded files into plain structures: a FeatureTable or a DataFrame of strings.

A thin dispatcher over one reader per format (gridmap.geo.readers): the file name's
extension picks the format, gridmap.geo.safe_open checks the content against it, and that
format's reader alone opens the file. Nothing here validates business fields or converts
coordinates: readers return what the file says (all attribute values as strings), and
report per-feature geometry problems instead of failing the whole file. A file that cannot
be read at all raises :class:`FileReadError` (or :class:`EmptyFileError`); an unknown
extension raises :class:`FileFormatError`. Both carry a ``gridmap.messages`` code and its params.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pandas as pd

from gridmap.geo import lockdown, safe_open  # noqa: F401 - lockdown: GDAL/PROJ options first
from gridmap.geo.file_errors import EmptyFileError, FileFormatError, FileReadError
from gridmap.geo.readers import csv, geojson, gpkg, kml, shapefile, xlsx
from gridmap.geo.readers.common import FeatureTable

__all__ = ["FEATURE_FORMATS", "FORMATS", "TABLE_FORMATS", "detect_format", "read_features", "read_table",
           "read_table_parts"]

FORMATS: dict[str, str] = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shapefile_zip",
    ".kml": "kml",
    ".kmz": "kml",
    ".csv": "csv",
    ".xlsx": "xlsx",
}
FEATURE_READERS: dict[str, Callable[[str, str, set[str] | None], FeatureTable]] = {
    "geojson": geojson.read,
    "gpkg": gpkg.read,
    "shapefile_zip": shapefile.read,
    "kml": kml.read,
}
TABLE_READERS: dict[str, Callable[[str], pd.DataFrame]] = {"csv": csv.read, "xlsx": xlsx.read}
FEATURE_FORMATS = frozenset(FEATURE_READERS)
TABLE_FORMATS = frozenset(TABLE_READERS)


def detect_format(filename: str) -> str:
    """``geojson``, ``gpkg``, ``shapefile_zip``, ``kml``, ``csv`` or ``xlsx`` from the name.

    Case-insensitive on the extension (.geojson/.json, .gpkg, .zip, .kml/.kmz, .csv,
    .xlsx). Anything else raises :class:`FileFormatError`.
    """
    ext = os.path.splitext(filename or "")[1].lower()
    try:
        return FORMATS[ext]
    except KeyError:
        raise FileFormatError(filename) from None


def _unopenable(exc: OSError) -> FileReadError:
    return FileReadError("file_unopenable", detail=exc.strerror or exc)


def read_features(path: str, filename: str, expected: set[str] | None = None) -> FeatureTable:
    """Read a GeoJSON, GeoPackage, zipped Shapefile or KML/KMZ file.

    ``path`` is where the upload is stored, ``filename`` the user's file name (it
    picks the format and appears in messages). ``expected`` (e.g. ``{"Polygon",
    "MultiPolygon"}``) turns other geometry types into per-feature
    ``geometry_wrong_type`` problems (their geometry is then None).

    GeoJSON and KML/KMZ are parsed by our readers, so bad coordinates, unclosed rings and
    the like become per-feature problems (see ``parse_geojson_geometry``). GeoPackage and
    Shapefile go through GDAL (pyogrio); Z is dropped. A GeoPackage must hold one spatial
    layer, a zip one shapefile (any folder); Shapefile attributes in GBK/GB18030 are
    detected.

    Raises FileFormatError (unknown or table extension), FileReadError, EmptyFileError.
    """
    fmt = detect_format(filename)
    if fmt not in FEATURE_FORMATS:
        raise FileFormatError(filename)
    try:
        safe_open.check_content(path, os.path.splitext(filename)[1].lower())
        return FEATURE_READERS[fmt](path, filename, expected)
    except OSError as exc:
        raise _unopenable(exc) from exc


def read_table(path: str, filename: str) -> pd.DataFrame:
    """Read a CSV or XLSX into a DataFrame whose values are all ``str`` ("" when blank).

    * Column names are stripped; blank ones become "Unnamed: i", duplicates get ".1".
    * Rows whose cells are all blank are dropped, but the index keeps each row's
      0-based position among data rows, so the spreadsheet row number of a frame
      row is ``index + frame.attrs["header_row"] + 1`` (exact for XLSX, and for CSV
      without multi-line quoted cells).
    * CSV and XLSX specifics: see gridmap.geo.readers.csv and .xlsx.

    Raises FileFormatError, FileReadError, EmptyFileError.
    """
    fmt = detect_format(filename)
    if fmt not in TABLE_FORMATS:
        raise FileFormatError(filename)
    try:
        safe_open.check_content(path, os.path.splitext(filename)[1])
        frame = TABLE_READERS[fmt](path)
    except OSError as exc:
        raise _unopenable(exc) from exc
    header_row = frame.attrs.get("header_row", 1)
    frame = _drop_blank_rows(frame)
    if len(frame) == 0:
        raise EmptyFileError()
    frame.attrs["header_row"] = header_row
    return frame


def read_table_parts(path: str, filename: str) -> Iterator[pd.DataFrame]:
    """``read_table`` of a CSV a part at a time, in parts of a few megabytes (never whole in
    memory; gridmap.geo.readers.csv.read_parts; other formats: FileFormatError). Each part's
    index continues the previous one's, so row numbers are as ``read_table`` gives them; parts
    left empty by blank rows are skipped, and a file with no row at all raises EmptyFileError."""
    if detect_format(filename) != "csv":
        raise FileFormatError(filename)
    try:
        safe_open.check_content(path, os.path.splitext(filename)[1])
        found = False
        for frame in csv.read_parts(path):
            frame = _drop_blank_rows(frame)
            if len(frame):
                found = True
                yield frame
    except OSError as exc:
        raise _unopenable(exc) from exc
    if not found:
        raise EmptyFileError()


def _drop_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or frame.shape[1] == 0:
        return frame
    values = frame.to_numpy(dtype=object)
    blank = (values == "").all(axis=1)
    if blank.any():
        frame = frame.loc[~blank]
    return frame
