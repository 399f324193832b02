"""What every reader shares: the FeatureTable result, attribute values as text, column names,
the CRS a file declares, and text decoding."""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from gridmap.geo import safe_open
from gridmap.geo.crs import CrsError, parse_crs
from gridmap.geo.file_errors import FileReadError


@dataclass
class FeatureTable:
    """Features read from a vector file, row i of each part describing feature i.

    * ``properties`` - one row per feature, every value a ``str`` ("" when null);
    * ``geometries`` - object array of 2-D shapely geometries, None where missing or
      unreadable (coordinates as stored in the file, *not* converted);
    * ``problems`` - object array, None or a :class:`~gridmap.geo.validate.Problem`;
    * ``crs`` - the CRS the file declares, normalised like ``parse_crs``
      ("wgs84", "EPSG:4547", ...), or None when it declares none (plain GeoJSON).
    """

    properties: pd.DataFrame
    geometries: np.ndarray
    problems: np.ndarray
    crs: str | None = None

    def __len__(self) -> int:
        return len(self.geometries)


# --- value conversion ----------------------------------------------------------------


def _float_str(v: float) -> str:
    if not math.isfinite(v):
        return ""
    if v.is_integer() and abs(v) < 2**53:
        return str(int(v))  # 331102001.0 -> "331102001": codes often arrive as floats
    return repr(v)


def cell_str(v: Any) -> str:
    """One attribute value as text. Null -> ""; integral floats lose their ".0"."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float_str(v)
    if isinstance(v, _dt.datetime):
        if v.time() == _dt.time(0) and v.tzinfo is None:
            return v.date().isoformat()  # Excel stores plain dates as midnight datetimes
        return v.isoformat()
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, Decimal):
        if not v.is_finite():
            return ""
        return str(int(v)) if v == v.to_integral_value() else str(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, np.generic):
        return cell_str(v.item())
    return str(v)


def column_str(values: Any) -> np.ndarray:
    """A column (numpy array or sequence) as an object array of str, vectorised by dtype."""
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(str).astype(object)
    if kind == "b":
        return np.where(arr, "true", "false").astype(object)
    if kind == "f":
        out = arr.astype(str).astype(object)
        finite = np.isfinite(arr)
        integral = finite & (np.abs(arr) < 2**53)
        integral[integral] = arr[integral] == np.floor(arr[integral])
        out[integral] = arr[integral].astype(np.int64).astype(str)
        out[~finite] = ""
        return out
    if kind == "M":
        out = np.datetime_as_string(arr).astype(object)
        out[np.isnat(arr)] = ""
        return out
    if kind == "U":
        return arr.astype(object)
    arr = arr.astype(object, copy=False)
    return np.fromiter((cell_str(v) for v in arr), dtype=object, count=arr.size)


def unique_names(names: list[Any]) -> list[str]:
    """Column names: stripped strings, blanks named like pandas, duplicates suffixed."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        text = cell_str(name).strip() if name is not None else ""
        if text == "":
            text = f"Unnamed: {i}"
        if text in seen:
            seen[text] += 1
            text = f"{text}.{seen[text]}"
        else:
            seen[text] = 0
        out.append(text)
    return out


def string_frame(columns: dict[str, Any], n: int) -> pd.DataFrame:
    """``n`` rows of the named columns, every value as text."""
    data = {name: column_str(values) for name, values in columns.items()}
    return pd.DataFrame(data, index=pd.RangeIndex(n), dtype=object) if data else pd.DataFrame(index=pd.RangeIndex(n))


# --- what a file declares ------------------------------------------------------------


def crs_from_file(value: Any) -> str | None:
    """A CRS string found in a file (EPSG:n, URN, WKT) -> parse_crs form, or None."""
    if not value:
        return None
    safe_open.check_crs_definition(str(value))  # file content: never a PROJ string, grid or URL
    text = str(value).strip()
    m = re.search(r"EPSG:{1,2}(\d+)\s*$", text, re.IGNORECASE)
    if m:
        text = f"EPSG:{m.group(1)}"
    elif re.search(r"CRS84\s*$", text, re.IGNORECASE):
        return "wgs84"
    try:
        return parse_crs(text)
    except CrsError:
        pass
    try:
        from pyproj import CRS

        epsg = CRS.from_user_input(value).to_epsg(min_confidence=70)
    except Exception:  # noqa: BLE001 - any unparsable definition just means "unknown"
        return None
    if epsg is None:
        return None
    try:
        return parse_crs(f"EPSG:{epsg}")
    except CrsError:
        return None


def decode_text(raw: bytes) -> str:
    """A text file's bytes as UTF-8 (with or without BOM), else GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileReadError("file_encoding_unknown")
